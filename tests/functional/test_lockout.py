"""Lockout: it stops guessing without telling which accounts exist, and without letting a
stranger lock the owner out (failures lock the address they come from; a reset unlocks)."""

import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.accounts.models import AccountState, StaffRole
from portal.audit.models import AuditEvent
from portal.db_types import utcnow
from tests import factories
from tests.functional.auth_helpers import login, logout, post_form
from tests.functional.helpers import csrf_token, text_of

WRONG = "Wrong*Passw0rd"
NEW_PASSWORD = "Rb7#tq!Lx9*v"
ATTACKER, OWNER, ELSEWHERE = "203.0.113.66", "198.51.100.7", "192.0.2.44"


def browser_at(app, address: str):
    """A browser whose requests come from this address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def answer(response) -> tuple[int, str | None, str | None]:
    """What the sign-in page tells: status, message and the help under it."""
    html = response.get_data(as_text=True)
    return response.status_code, text_of(html, "login-error"), text_of(html, "login-help")


@pytest.fixture
def owner(db_session):
    return factories.account(
        state=AccountState.ACTIVE, username="lock.owner", email="owner@example.org"
    )


def test_a_locked_account_gets_the_same_answer_as_one_that_does_not_exist(app, owner):
    attacker = browser_at(app, ATTACKER)
    unknown = answer(login(attacker, "nobody.at.all", WRONG))
    assert unknown[0] == 401 and unknown[1] == "帳號或密碼錯誤。"
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert answer(login(attacker, "lock.owner", WRONG)) == unknown
    # Locked now: neither a wrong nor the right password tells it apart from no account.
    assert answer(login(attacker, "lock.owner", WRONG)) == unknown
    assert answer(login(attacker, "lock.owner")) == unknown
    assert answer(login(attacker, "nobody.at.all", WRONG)) == unknown


def test_a_strangers_failures_do_not_keep_the_owner_out(app, owner, db_session):
    attacker = browser_at(app, ATTACKER)
    for _ in range(app.config["LOGIN_MAX_FAILURES"] + 3):
        login(attacker, "lock.owner", WRONG)
    assert login(attacker, "lock.owner").status_code == 401
    signed_in = login(browser_at(app, OWNER), "lock.owner")
    assert signed_in.status_code == 303 and signed_in.headers["Location"] == "/account"
    actions = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.actor_account_id == owner.id)
    ).all()
    # Tries made while locked are recorded, but not counted as more failures.
    assert actions.count("login.failed") == app.config["LOGIN_MAX_FAILURES"]
    assert actions.count("login.locked") == 1
    assert actions.count("login.refused_locked") == 4


def test_the_lock_ends_on_time_however_long_the_attacker_keeps_trying(app, owner):
    attacker = browser_at(app, ATTACKER)
    with time_machine.travel(utcnow(), tick=False) as clock:
        for _ in range(app.config["LOGIN_MAX_FAILURES"]):
            login(attacker, "lock.owner", WRONG)
        for _ in range(3):
            clock.shift(timedelta(minutes=4))
            login(attacker, "lock.owner", WRONG)
        clock.shift(timedelta(minutes=2, seconds=59))
        assert login(attacker, "lock.owner").status_code == 401
        clock.shift(timedelta(seconds=2))
        assert login(attacker, "lock.owner").status_code == 303


def link_from(mail) -> str:
    return re.search(r"http://portal\.test(/password/reset/\S+)", mail.get_content()).group(1)


def test_a_reset_link_unlocks_every_address(app, owner, smtp_sink):
    owners_browser = browser_at(app, OWNER)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        login(owners_browser, "lock.owner", WRONG)
    assert login(owners_browser, "lock.owner").status_code == 401
    post_form(
        owners_browser,
        "/password/forgot",
        "/password/forgot",
        {"username": "lock.owner", "email": "owner@example.org"},
    )
    path = link_from(smtp_sink.wait_for(1)[0])
    reset = post_form(
        owners_browser, path, path, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert reset.status_code == 303
    assert login(owners_browser, "lock.owner", NEW_PASSWORD).status_code == 303


def test_wrong_codes_lock_only_the_address_they_come_from(app, db_session):
    person = factories.staff(StaffRole.HELP_DESK)
    attacker = browser_at(app, ATTACKER)
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        assert login(attacker, person.username).status_code == 303
        page = attacker.get("/login/second-factor").get_data(as_text=True)
        wrong = attacker.post(
            "/login/second-factor", data={"csrf_token": csrf_token(page), "code": "000000"}
        )
    assert wrong.status_code == 303 and wrong.headers["Location"] == "/login"
    assert text_of(
        login(attacker, person.username).get_data(as_text=True), "login-error"
    ) == text_of(login(attacker, "nobody.at.all", WRONG).get_data(as_text=True), "login-error")
    staff_member = browser_at(app, OWNER)
    assert login(staff_member, person.username).status_code == 303
    page = staff_member.get("/login/second-factor").get_data(as_text=True)
    right = staff_member.post(
        "/login/second-factor",
        data={"csrf_token": csrf_token(page), "code": factories.totp_code(person)},
    )
    # Signed in: the help desk lands on its queue.
    assert right.status_code == 303 and right.headers["Location"] == "/review"


def test_guesses_spread_over_many_addresses_lock_only_addresses_never_used(app, owner, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_ACCOUNT_MAX_FAILURES", 6)
    owners_browser = browser_at(app, OWNER)
    assert login(owners_browser, "lock.owner").status_code == 303
    logout(owners_browser)
    for number in range(3):
        botnet = browser_at(app, f"203.0.113.{10 + number}")
        for _ in range(2):
            login(botnet, "lock.owner", WRONG)
    # No single address reached its limit, but together they did.
    assert login(browser_at(app, ELSEWHERE), "lock.owner").status_code == 401
    # Where the owner has signed in before, only that address's own count applies.
    assert login(owners_browser, "lock.owner").status_code == 303
