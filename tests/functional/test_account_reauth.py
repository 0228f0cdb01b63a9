"""我的帳號: what would hand the account to someone holding a stolen session (a new e-mail
for the reset links, a new password) needs the current password, and guessing it there
locks and signs out as guessing at sign-in does."""

import pytest

from portal.accounts.models import AccountState
from tests import factories
from tests.functional.auth_helpers import login, post_form
from tests.functional.helpers import input_value, text_of

NEW_PASSWORD = "Rb7#tq!Lx9*v"
CONTACT = {"phone": "04-22345678#12", "mobile": "", "department": ""}
HERE, ELSEWHERE = "198.51.100.20", "192.0.2.80"


@pytest.fixture
def person(db_session):
    return factories.account(
        state=AccountState.ACTIVE, username="re.auth", email="re@example.org", phone="02-12345678"
    )


def browser_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def change_contact(client, **fields):
    return post_form(client, "/account", "/account/contact", {**CONTACT, **fields})


def change_password(client, current):
    return post_form(
        client,
        "/account",
        "/account/password",
        {"current_password": current, "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )


def test_the_contact_form_asks_for_the_current_password(client, person):
    login(client, "re.auth")
    page = client.get("/account").get_data(as_text=True)
    assert 'name="current_password"' in page.split('action="/account/contact"')[1]
    assert "變更電子郵件時" in text_of(page, "contact_current_password-hint")


def test_a_new_e_mail_needs_the_current_password(client, person, db_session, smtp_sink):
    login(client, "re.auth")
    missing = change_contact(client, email="thief@example.org")
    assert missing.status_code == 422
    html = missing.get_data(as_text=True)
    assert "請輸入目前的密碼" in text_of(html, "contact_current_password-error")
    assert input_value(html, "email") == "thief@example.org"
    wrong = change_contact(client, email="thief@example.org", current_password="Wrong*1")
    assert wrong.status_code == 422
    assert "目前的密碼不正確" in text_of(
        wrong.get_data(as_text=True), "contact_current_password-error"
    )
    db_session.refresh(person)
    assert person.email == "re@example.org"
    assert smtp_sink.messages == []
    right = change_contact(
        client, email="re@new.example.org", current_password=factories.STRONG_PASSWORD
    )
    assert right.status_code == 303
    db_session.refresh(person)
    assert person.email == "re@new.example.org"
    assert smtp_sink.wait_for(1)[0]["To"] == "re@example.org"


def test_phone_and_department_change_without_the_password(client, person, db_session):
    login(client, "re.auth")
    response = change_contact(client, email="RE@example.org", department="家醫科")
    assert response.status_code == 303
    db_session.refresh(person)
    assert person.phone == "04-22345678#12" and person.department == "家醫科"


@pytest.mark.parametrize("where", ["password", "contact"])
def test_guessing_the_current_password_locks_and_signs_out(app, person, where):
    thief = browser_at(app, HERE)
    login(thief, "re.auth")
    attempts = app.config["LOGIN_MAX_FAILURES"]
    for attempt in range(attempts):
        if where == "password":
            response = change_password(thief, f"Wrong*{attempt}")
        else:
            response = change_contact(
                thief, email="thief@example.org", current_password=f"Wrong*{attempt}"
            )
        if attempt < attempts - 1:
            assert response.status_code == 422
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "暫時無法從目前的網路位置登入" in thief.get("/login").get_data(as_text=True)
    assert thief.get("/account").status_code == 302
    # Locked as for sign-in: not from this address, even with the password…
    assert login(thief, "re.auth").status_code == 401
    # …while the owner elsewhere is not kept out.
    assert login(browser_at(app, ELSEWHERE), "re.auth").status_code == 303
