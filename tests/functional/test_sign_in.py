"""服務登入 and 登出: who gets in, lockout, session lifetimes."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.accounts.models import AccountState
from portal.audit.models import AuditEvent
from portal.db_types import utcnow
from portal.registration.models import ApplicationState
from tests import factories
from tests.functional.auth_helpers import login, logout
from tests.functional.helpers import text_of


@pytest.fixture
def active(db_session):
    return factories.account(state=AccountState.ACTIVE, username="lin.active")


def test_active_account_signs_in_and_sees_its_account(client, active):
    response = login(client, "LIN.active")
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    page = client.get("/account").get_data(as_text=True)
    assert text_of(page, "masked-national-id") == "A12345****"
    assert text_of(page, "account-role") == "一般使用者"
    assert "登出" in text_of(page, "main-nav")


def test_sign_in_goes_on_to_a_local_next_page_only(client, active):
    assert login(client, "lin.active", next_="/applications/status").headers["Location"] == (
        "/applications/status"
    )
    logout(client)
    assert login(client, "lin.active", next_="//evil.example").headers["Location"] == "/account"


def test_a_manager_with_applications_waiting_lands_on_them(client, db_session):
    clinic = factories.institution()
    manager = factories.active_manager(clinic)
    factories.application(factories.account(institution=clinic))
    response = login(client, manager.username)
    assert response.headers["Location"] == "/manager/applications"
    assert "帳號審核" in client.get(response.headers["Location"]).get_data(as_text=True)
    logout(client)
    # A page asked for explicitly still wins.
    asked = login(client, manager.username, next_="/manager/users")
    assert asked.headers["Location"] == "/manager/users"


def test_a_manager_with_nothing_waiting_lands_where_everyone_does(client, db_session):
    clinic = factories.institution()
    manager = factories.active_manager(clinic)
    # Decided applications of the institution, and waiting ones of another, do not count.
    factories.application(factories.account(institution=clinic), state=ApplicationState.APPROVED)
    factories.application(factories.account())
    assert login(client, manager.username).headers["Location"] == "/account"


@pytest.mark.parametrize("username", ["lin.active", "nobody.here"])
def test_wrong_password_and_unknown_account_get_the_same_answer(client, active, username):
    response = login(client, username, "Wrong*Passw0rd")
    assert response.status_code == 401
    assert text_of(response.get_data(as_text=True), "login-error") == "帳號或密碼錯誤。"


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (AccountState.PENDING, "尚在審核中"),
        (AccountState.REFUSED, "未獲核准"),
        (AccountState.DEACTIVATED, "已停用"),
    ],
)
def test_inactive_accounts_are_told_why_only_with_the_right_password(
    client, db_session, state, message
):
    factories.account(state=state, username="lin.inactive")
    right = login(client, "lin.inactive")
    assert right.status_code == 401
    assert message in text_of(right.get_data(as_text=True), "login-error")
    wrong = login(client, "lin.inactive", "Wrong*Passw0rd")
    assert text_of(wrong.get_data(as_text=True), "login-error") == "帳號或密碼錯誤。"


def test_five_failures_lock_the_account_for_fifteen_minutes(client, active, db_session):
    unknown = login(client, "nobody.here", "Wrong*1")
    with time_machine.travel(utcnow(), tick=False) as clock:
        for _ in range(5):
            assert (
                text_of(
                    login(client, "lin.active", "Wrong*1").get_data(as_text=True), "login-error"
                )
                == "帳號或密碼錯誤。"
            )
        # While locked, the right password gets the very answer an unknown account gets.
        locked_right = login(client, "lin.active")
        locked_wrong = login(client, "lin.active", "Wrong*2")
        assert locked_right.status_code == locked_wrong.status_code == unknown.status_code == 401
        for refused in (locked_right, locked_wrong):
            assert text_of(refused.get_data(as_text=True), "main") == text_of(
                unknown.get_data(as_text=True), "main"
            )
        clock.shift(timedelta(minutes=14, seconds=59))
        assert login(client, "lin.active").status_code == 401
        clock.shift(timedelta(seconds=2))
        assert login(client, "lin.active").status_code == 303
    actions = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.subject_id == str(active.id))
    ).all()
    assert "login.locked" in actions and "login.succeeded" in actions


def test_a_success_resets_the_count(client, active, db_session):
    for _ in range(4):
        login(client, "lin.active", "Wrong*1")
    assert login(client, "lin.active").status_code == 303
    logout(client)
    for _ in range(4):
        login(client, "lin.active", "Wrong*1")
    assert login(client, "lin.active").status_code == 303


def test_signing_in_starts_a_new_session(client, app, active):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    login(client, "lin.active")
    with client.session_transaction() as session:
        assert "planted" not in session
        first_sid = session["sid"]
    logout(client)
    login(client, "lin.active")
    with client.session_transaction() as session:
        assert session["sid"] != first_sid


def test_sign_out_really_ends_the_session(client, app, active):
    login(client, "lin.active")
    stolen = client.get_cookie(app.config["SESSION_COOKIE_NAME"]).value
    assert logout(client).status_code == 303
    thief = app.test_client()
    thief.set_cookie(app.config["SESSION_COOKIE_NAME"], stolen)
    response = thief.get("/account")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_idle_timeout_after_thirty_minutes(client, active):
    with time_machine.travel(utcnow(), tick=False) as clock:
        login(client, "lin.active")
        clock.shift(timedelta(minutes=29))
        assert client.get("/account").status_code == 200
        clock.shift(timedelta(minutes=29))
        assert client.get("/account").status_code == 200
        clock.shift(timedelta(minutes=31))
        assert client.get("/account").status_code == 302


def test_absolute_timeout_after_twelve_hours(client, active):
    with time_machine.travel(utcnow(), tick=False) as clock:
        login(client, "lin.active")
        for _ in range(11 * 3):
            clock.shift(timedelta(minutes=20))
            assert client.get("/account").status_code == 200
        clock.shift(timedelta(minutes=61))
        assert client.get("/account").status_code == 302


def test_deactivation_ends_sessions_at_once(client, active, db_session):
    login(client, "lin.active")
    active.state = AccountState.DEACTIVATED
    db_session.flush()
    assert client.get("/account").status_code == 302


def test_failures_from_one_address_are_rate_limited(app, client, db_session):
    app.config["RATELIMIT_LOGIN"] = "3 per 15 minutes"
    try:
        codes = [login(client, f"nobody{i}", "Wrong*1").status_code for i in range(4)]
    finally:
        app.config["RATELIMIT_LOGIN"] = "30 per 15 minutes"
    assert codes == [401, 401, 401, 429]


def test_pages_need_sign_in(client, db_session):
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
