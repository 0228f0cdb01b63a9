"""忘記密碼, reset links, and changing password and contact details on 我的帳號."""

import re
import statistics
import time
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from portal.accounts.models import AccountState
from portal.audit.models import AuditEvent
from portal.db_types import utcnow
from portal.extensions import db
from portal.outbox.models import OutboxMessage
from tests import factories
from tests.functional.auth_helpers import login, post_form
from tests.functional.helpers import csrf_token, input_value, text_of

NEW_PASSWORD = "Rb7#tq!Lx9*v"
HX = {"HX-Request": "true"}


@pytest.fixture
def person(db_session):
    return factories.account(state=AccountState.ACTIVE, username="wu.reset", email="wu@example.org")


def ask_for_link(client, username="wu.reset", email="wu@example.org"):
    return post_form(
        client, "/password/forgot", "/password/forgot", {"username": username, "email": email}
    )


def link_from(mail) -> str:
    return re.search(r"http://portal.test(/password/reset/\S+)", mail.get_content()).group(1)


def set_new_password(client, path, password=NEW_PASSWORD):
    return post_form(client, path, path, {"password": password, "password_confirm": password})


def test_same_answer_whether_or_not_the_account_exists(client, person, smtp_sink):
    known = ask_for_link(client).get_data(as_text=True)
    unknown = ask_for_link(client, username="nobody.else").get_data(as_text=True)
    wrong_mail = ask_for_link(client, email="other@example.org").get_data(as_text=True)
    assert text_of(known, "forgot-result") == text_of(unknown, "forgot-result")
    assert text_of(known, "forgot-result") == text_of(wrong_mail, "forgot-result")
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "wu@example.org"


def test_the_answer_takes_as_long_whether_or_not_the_account_matched(
    app, client, person, monkeypatch
):
    """Both paths run the same statements: the time tells no more than the words.

    Pairs of requests, one matching and one not, back to back (the machine's load then
    weighs on both alike); the median of their differences must be noise.
    """
    monkeypatch.setitem(app.config, "RATELIMIT_PASSWORD_FORGOT", "1000 per minute")
    client.deliver_outbox = False  # the request alone is timed; the worker sends later
    token = csrf_token(client.get("/password/forgot").get_data(as_text=True))

    def ask(username: str) -> float:
        data = {"csrf_token": token, "username": username, "email": "wu@example.org"}
        started = time.perf_counter()
        assert client.post("/password/forgot", data=data).status_code == 200
        return time.perf_counter() - started

    for _warm_up in range(5):
        ask("wu.reset"), ask("nobody.else")
    pairs = [(ask("wu.reset"), ask("nobody.else")) for _pair in range(30)]
    matched = statistics.median(m for m, _ in pairs)
    unmatched = statistics.median(u for _, u in pairs)
    difference = statistics.median(m - u for m, u in pairs)
    tolerance = 0.001 + 0.1 * unmatched
    assert abs(difference) < tolerance, (
        f"matched {matched * 1000:.2f} ms, unmatched {unmatched * 1000:.2f} ms, "
        f"paired difference {difference * 1000:.2f} ms"
    )
    queued = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.recipient == "wu@example.org")
    )
    assert queued == 35  # one per matching request, none for the others
    unmatched_events = db.session.scalar(
        select(func.count()).where(AuditEvent.action == "password.reset_unmatched")
    )
    assert unmatched_events == 35


def test_reset_link_sets_a_new_password_once_and_ends_sessions(app, client, person, smtp_sink):
    other_browser = app.test_client()
    login(other_browser, "wu.reset")
    assert other_browser.get("/account").status_code == 200
    ask_for_link(client)
    path = link_from(smtp_sink.wait_for(1)[0])
    weak = set_new_password(client, path, "password")
    assert weak.status_code == 422
    assert "密碼不符規則" in text_of(weak.get_data(as_text=True), "password-error")
    assert set_new_password(client, path).status_code == 303
    assert other_browser.get("/account").status_code == 302
    notices = smtp_sink.wait_for(2)
    assert "密碼已變更" in notices[-1]["Subject"]
    assert login(client, "wu.reset", NEW_PASSWORD).status_code == 303
    again = client.get(path)
    assert again.status_code == 410
    assert "已失效" in text_of(again.get_data(as_text=True), "reset-error")


def test_a_reset_ends_every_other_link_of_the_account(client, person, smtp_sink):
    ask_for_link(client)
    ask_for_link(client)
    first, second = (link_from(mail) for mail in smtp_sink.wait_for(2)[:2])
    assert set_new_password(client, second).status_code == 303
    assert client.get(first).status_code == 410


def test_reset_link_expires_after_thirty_minutes(client, person, smtp_sink):
    with time_machine.travel(utcnow(), tick=False) as clock:
        ask_for_link(client)
        path = link_from(smtp_sink.wait_for(1)[0])
        clock.shift(timedelta(minutes=29))
        assert client.get(path).status_code == 200
        clock.shift(timedelta(minutes=2))
        assert client.get(path).status_code == 410


def test_reset_clears_a_lockout(client, person, smtp_sink):
    for _ in range(5):
        login(client, "wu.reset", "Wrong*1")
    ask_for_link(client)
    set_new_password(client, link_from(smtp_sink.wait_for(1)[0]))
    assert login(client, "wu.reset", NEW_PASSWORD).status_code == 303


def test_change_password_needs_the_current_one_and_ends_other_sessions(
    app, client, person, smtp_sink
):
    other_browser = app.test_client()
    login(other_browser, "wu.reset")
    login(client, "wu.reset")
    wrong = post_form(
        client,
        "/account",
        "/account/password",
        {"current_password": "Wrong*1", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD},
    )
    assert wrong.status_code == 422
    assert "目前的密碼不正確" in text_of(wrong.get_data(as_text=True), "current_password-error")
    right = post_form(
        client,
        "/account",
        "/account/password",
        {
            "current_password": factories.STRONG_PASSWORD,
            "password": NEW_PASSWORD,
            "password_confirm": NEW_PASSWORD,
        },
    )
    assert right.status_code == 303
    assert client.get("/account").status_code == 200
    assert other_browser.get("/account").status_code == 302
    assert "密碼已變更" in smtp_sink.wait_for(1)[0]["Subject"]


def test_new_password_may_not_contain_the_account_name(client, db_session):
    factories.account(state=AccountState.ACTIVE, username="wulin88")
    login(client, "wulin88")
    response = post_form(
        client,
        "/account",
        "/account/password",
        {
            "current_password": factories.STRONG_PASSWORD,
            "password": "WULIN88#2026zq",
            "password_confirm": "WULIN88#2026zq",
        },
    )
    assert "不得與帳號相同或包含帳號" in text_of(response.get_data(as_text=True), "password-error")


def test_change_contact_validates_and_tells_the_old_address(client, person, smtp_sink):
    login(client, "wu.reset")
    bad = post_form(
        client,
        "/account",
        "/account/contact",
        {"email": "wu@new.example.org", "phone": "12345", "mobile": ""},
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "請寫上區碼" in text_of(html, "phone-error")
    assert 'value="wu@new.example.org"' in html
    good = post_form(
        client,
        "/account",
        "/account/contact",
        {
            "email": "wu@new.example.org",
            "phone": "04-22345678#12",
            "mobile": "0912345678",
            "current_password": factories.STRONG_PASSWORD,
        },
    )
    assert good.status_code == 303
    page = client.get("/account").get_data(as_text=True)
    assert 'value="0912-345678"' in page
    [notice] = smtp_sink.wait_for(1)
    assert notice["To"] == "wu@example.org"


def test_department_is_shown_and_changed_on_my_account(client, person, db_session):
    person.department = "家醫科"
    db_session.flush()
    login(client, "wu.reset")
    page = client.get("/account").get_data(as_text=True)
    assert input_value(page, "department") == "家醫科"
    assert 'aria-describedby="department-error department-hint"' in page
    contact = {
        "email": "wu@new.example.org",
        "phone": "04-22345678#12",
        "mobile": "",
        "current_password": factories.STRONG_PASSWORD,
    }
    too_long = post_form(
        client, "/account", "/account/contact", {**contact, "department": "科" * 101}
    )
    assert too_long.status_code == 422
    html = too_long.get_data(as_text=True)
    assert "機構、部門最多 100 個字" in text_of(html, "department-error")
    assert input_value(html, "email") == "wu@new.example.org"
    assert input_value(html, "phone") == "04-22345678#12"
    assert input_value(html, "department") == "科" * 101
    db_session.refresh(person)
    assert person.email == "wu@example.org" and person.department == "家醫科"
    changed = post_form(
        client, "/account", "/account/contact", {**contact, "department": " 社區醫學部 "}
    )
    assert changed.status_code == 303
    assert input_value(client.get("/account").get_data(as_text=True), "department") == "社區醫學部"
    db_session.refresh(person)
    assert person.department == "社區醫學部"
    cleared = post_form(client, "/account", "/account/contact", {**contact, "department": ""})
    assert cleared.status_code == 303
    db_session.refresh(person)
    assert person.department is None
    assert input_value(client.get("/account").get_data(as_text=True), "department") == ""


def test_account_meter_as_fragment_and_full_page(client, person):
    login(client, "wu.reset")
    token = csrf_token(client.get("/account").get_data(as_text=True))
    fragment = client.post(
        "/password/strength",
        data={"password": "Wu.reset#2026"},
        headers={**HX, "X-CSRFToken": token},
    ).get_data(as_text=True)
    assert fragment.lstrip().startswith('<div id="password-meter"')
    assert 'class="unmet" data-rule="username"' in fragment
    page = client.post("/password/strength", data={"password": NEW_PASSWORD, "csrf_token": token})
    assert "<html" in page.get_data(as_text=True)
    assert text_of(page.get_data(as_text=True), "password-strength") == "強"


def test_account_meter_never_calls_a_refused_password_strong(client, person):
    login(client, "wu.reset")
    token = csrf_token(client.get("/account").get_data(as_text=True))
    for headers in ({**HX, "X-CSRFToken": token}, {}):
        html = client.post(
            "/password/strength",
            data={"password": "Clinic@Chen$2026", "csrf_token": token},
            headers=headers,
        ).get_data(as_text=True)
        assert text_of(html, "password-strength") == "不符合規則"
        assert "meter-strong" not in html
        assert 'class="unmet" data-rule="charset"' in html


def test_account_meter_needs_an_account(client, db_session):
    token = csrf_token(client.get("/login").get_data(as_text=True))
    assert client.post("/password/strength", data={"csrf_token": token}).status_code == 401
