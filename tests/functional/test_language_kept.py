"""The language a person chose survives signing in and out; nothing else of the session does."""

from portal.accounts.models import AccountState, StaffRole
from portal.auth.services import end_other_sessions
from tests import factories
from tests.functional.auth_helpers import login, login_staff, logout
from tests.functional.helpers import text_of


def choose_english(client) -> None:
    assert client.get("/language/en?next=/").status_code == 302


def lang_of(html: str) -> str:
    return html.split('<html lang="', 1)[1].split('"', 1)[0]


def test_english_survives_sign_in_and_sign_out(client, db_session):
    person = factories.account(state=AccountState.ACTIVE)
    choose_english(client)
    with client.session_transaction() as session:
        session["left_over"] = "from before signing in"

    signed_in = login(client, person.username)
    assert signed_in.status_code == 303
    account = client.get("/account").get_data(as_text=True)
    assert lang_of(account) == "en"
    assert "My account" in text_of(account, "main")
    with client.session_transaction() as session:
        # A fresh session all the same: only the language was carried over.
        assert "left_over" not in session and session["language"] == "en"

    logout(client)
    home = client.get("/").get_data(as_text=True)
    assert lang_of(home) == "en"
    assert "You have signed out." in text_of(home, "main")


def test_english_survives_the_staff_second_factor(client, db_session):
    reviewer = factories.staff(StaffRole.HELP_DESK)
    choose_english(client)
    login_staff(client, reviewer)
    html = client.get("/account").get_data(as_text=True)
    assert lang_of(html) == "en" and "Sign out" in html


def test_an_ended_session_keeps_the_language(client, db_session):
    person = factories.account(state=AccountState.ACTIVE)
    choose_english(client)
    login(client, person.username)
    end_other_sessions(person)  # e.g. the password was changed on another computer
    page = client.get("/account")
    assert page.status_code == 302
    assert lang_of(client.get(page.headers["Location"]).get_data(as_text=True)) == "en"


def test_chinese_stays_the_default_after_signing_out(client, db_session):
    person = factories.account(state=AccountState.ACTIVE)
    login(client, person.username)
    logout(client)
    assert lang_of(client.get("/").get_data(as_text=True)) == "zh-Hant-TW"
