"""Staff accounts: the command line, the second factor, management in the browser, audit."""

import re
from datetime import timedelta

import pyotp
from sqlalchemy import select

from portal.accounts.models import Account, StaffRole
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.localtime import local_now
from portal.security.encryption import decrypt_text
from tests import factories
from tests.functional.auth_helpers import login, login_staff, post_form
from tests.functional.helpers import at_once, csrf_token, text_of


def test_create_staff_from_the_command_line_and_enrol_the_second_factor(live_app):
    runner = live_app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-staff",
            "hd.chen",
            "--name",
            "陳服務",
            "--email",
            "hd@hpa.example.gov.tw",
            "--national-id",
            "A123456789",
            "--role",
            "subsystem_admin",
            "--subsystem",
            "cessation",
            "--subsystem",
            "oral-cancer",
            "--password",
            factories.STRONG_PASSWORD,
        ],
    )
    assert result.exit_code == 0, result.output
    client = live_app.test_client()
    first = login(client, "hd.chen")
    assert first.headers["Location"] == "/login/second-factor"
    page = client.get("/login/second-factor").get_data(as_text=True)
    assert 'id="totp-qr" src="data:image/svg+xml' in page
    secret = text_of(page, "totp-secret")
    wrong = client.post(
        "/login/second-factor", data={"csrf_token": csrf_token(page), "code": "000000"}
    )
    assert wrong.status_code == 401
    # A mistyped code must not change the seed the person has already scanned.
    assert text_of(wrong.get_data(as_text=True), "totp-secret") == secret
    page = client.get("/login/second-factor").get_data(as_text=True)
    assert text_of(page, "totp-secret") == secret
    code = pyotp.TOTP(secret).now()
    done = client.post("/login/second-factor", data={"csrf_token": csrf_token(page), "code": code})
    assert done.status_code == 303
    assert "子系統權限審核" in text_of(client.get("/account").get_data(as_text=True), "main-nav")
    with live_app.app_context():
        account = db.session.scalar(select(Account).where(Account.username == "hd.chen"))
        assert account.totp_confirmed_at is not None
        assert decrypt_text(account.totp_secret_encrypted) == secret
        assert sorted(s.code for s in account.administered_subsystems) == [
            "cessation",
            "oral-cancer",
        ]


def test_create_staff_refuses_a_weak_password(live_app):
    result = live_app.test_cli_runner().invoke(
        args=[
            "create-staff",
            "hd.weak",
            "--name",
            "x",
            "--email",
            "x@example.org",
            "--national-id",
            "A123456789",
            "--role",
            "help_desk",
            "--password",
            "password",
        ],
    )
    assert result.exit_code != 0 and "密碼不符規則" in result.output


def test_a_used_code_cannot_be_replayed(client, db_session):
    person = factories.staff(StaffRole.HELP_DESK)
    assert login_staff(client, person).status_code == 303
    client.post(
        "/logout", data={"csrf_token": csrf_token(client.get("/account").get_data(as_text=True))}
    )
    login(client, person.username)
    page = client.get("/login/second-factor").get_data(as_text=True)
    replay = client.post(
        "/login/second-factor",
        data={"csrf_token": csrf_token(page), "code": factories.totp_code(person)},
    )
    assert replay.status_code == 401
    assert "已使用過" in text_of(replay.get_data(as_text=True), "code-error")


def test_wrong_codes_count_towards_the_lockout(client, app, db_session):
    person = factories.staff(StaffRole.HELP_DESK)
    attempts = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(attempts):
        # The right password each time: it must not wipe the count of wrong codes.
        assert login(client, person.username).status_code == 303
        page = client.get("/login/second-factor").get_data(as_text=True)
        wrong = client.post(
            "/login/second-factor", data={"csrf_token": csrf_token(page), "code": "000000"}
        )
    assert wrong.status_code == 303 and wrong.headers["Location"] == "/login"
    # The person has shown the password: the lock is named, with the way out.
    assert "暫時無法從目前的網路位置登入" in client.get("/login").get_data(as_text=True)
    # At sign-in, the same answer as for an account that does not exist.
    refused = login(client, person.username)
    unknown = login(client, "nobody.at.all", "Wrong*1")
    assert refused.status_code == unknown.status_code == 401
    assert text_of(refused.get_data(as_text=True), "main") == text_of(
        unknown.get_data(as_text=True), "main"
    )
    failures = db_session.scalars(
        select(AuditEvent.action).where(AuditEvent.actor_account_id == person.id)
    ).all()
    assert failures.count("login.second_factor_failed") == attempts
    assert "login.locked" in failures


def test_staff_pages_need_the_second_factor(client, db_session):
    person = factories.staff(StaffRole.PORTAL_ADMIN)
    login(client, person.username)
    assert client.get("/admin/staff").status_code == 302


def test_portal_admin_creates_and_changes_staff_in_the_browser(client, db_session, smtp_sink):
    admin = factories.staff(StaffRole.PORTAL_ADMIN)
    login_staff(client, admin)
    missing = post_form(
        client,
        "/admin/staff/new",
        "/admin/staff/new",
        {
            "username": "oc.admin",
            "name": "林管理",
            "email": "oc@hpa.example.gov.tw",
            "national_id": "B123456780",
            "role": "subsystem_admin",
        },
    )
    assert missing.status_code == 422
    assert "至少要管理一個子系統" in text_of(missing.get_data(as_text=True), "subsystems-error")
    created = post_form(
        client,
        "/admin/staff/new",
        "/admin/staff/new",
        {
            "username": "oc.admin",
            "name": "林管理",
            "email": "oc@hpa.example.gov.tw",
            "national_id": "B123456780",
            "role": "subsystem_admin",
            "subsystems": ["oral-cancer"],
        },
    )
    assert created.status_code == 303
    [invitation] = smtp_sink.wait_for(1)
    assert re.search(r"/password/reset/\S+", invitation.get_content())
    staff = db_session.scalar(select(Account).where(Account.username == "oc.admin"))
    changed = post_form(
        client,
        f"/admin/staff/{staff.id}",
        f"/admin/staff/{staff.id}",
        {"role": "help_desk", "active": "y"},
    )
    assert changed.status_code == 303
    db_session.expire_all()
    assert staff.staff_role is StaffRole.HELP_DESK and staff.administered_subsystems == []
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "staff.role_changed"))
    assert event.actor_account_id == admin.id
    assert event.detail["before"]["role"] == "subsystem_admin"


def test_the_last_portal_admin_cannot_be_demoted_or_deactivated(client, db_session):
    admin = factories.staff(StaffRole.PORTAL_ADMIN)
    other = factories.staff(StaffRole.PORTAL_ADMIN)
    login_staff(client, admin)
    page = f"/admin/staff/{other.id}"
    assert post_form(client, page, page, {"role": "help_desk", "active": "y"}).status_code == 303
    # Now the only one left: demoting themselves would leave nobody to manage staff.
    mine = f"/admin/staff/{admin.id}"
    refused = post_form(client, mine, mine, {"role": "help_desk", "active": "y"})
    assert refused.status_code == 422
    assert "最後一位" in text_of(refused.get_data(as_text=True), "role-error")
    db_session.expire_all()
    assert admin.staff_role is StaffRole.PORTAL_ADMIN


def test_audit_search_by_account_kind_and_date(client, db_session):
    admin = factories.staff(StaffRole.PORTAL_ADMIN)
    factories.account(username="audit.target")
    login(client, "audit.target", "Wrong*1")
    login_staff(client, admin)
    html = client.get("/admin/audit?username=audit.target&action=login").get_data(as_text=True)
    rows = text_of(html, "audit-events")
    assert "登入失敗" in rows and "使用者帳號 audit.target（測試人員）" in rows
    assert "登入成功" not in rows
    html = client.get("/admin/audit?date_from=2001-01-01&date_to=2001-01-02").get_data(as_text=True)
    assert "沒有符合的紀錄" in text_of(html, "audit-events")
    bad = client.get("/admin/audit?institution_code=12").get_data(as_text=True)
    assert "10 位數字" in text_of(bad, "institution_code-error")
    # A page beyond any offset the database takes is the last page there can be.
    for page in (2**63, -(2**63), "x"):
        assert client.get(f"/admin/audit?page={page}").status_code == 200


def test_audit_search_says_what_is_wrong_with_its_dates(client, db_session):
    login_staff(client, factories.staff(StaffRole.PORTAL_ADMIN))
    for name, day in (("date_from", "0001-01-01"), ("date_to", "9999-12-31")):
        answer = client.get(f"/admin/audit?{name}={day}")
        assert answer.status_code == 200
        assert "2000-01-01 至 2099-12-31" in text_of(answer.get_data(as_text=True), f"{name}-error")
    inverted = client.get("/admin/audit?date_from=2026-03-02&date_to=2026-03-01")
    assert "迄日早於起日" in text_of(inverted.get_data(as_text=True), "date_to-error")
    # The pager's links carry the search, and only the search.
    html = client.get("/admin/audit?action=login&page=2&_method=PUT").get_data(as_text=True)
    assert 'href="/admin/audit?page=1&amp;action=login"' in html


def test_audit_search_by_institution_and_by_a_name_no_account_has(client, db_session):
    admin = factories.staff(StaffRole.PORTAL_ADMIN)
    clinic = factories.institution()
    factories.account(username="audit.clinic", institution=clinic)
    login(client, "audit.clinic", "Wrong*1")
    login(client, "No.Such.Name", "Wrong*1")
    login_staff(client, admin)
    html = client.get(f"/admin/audit?institution_code={clinic.code}").get_data(as_text=True)
    rows = text_of(html, "audit-events")
    assert "登入失敗" in rows and "audit.clinic" in rows  # the actor by name
    assert "登入成功" not in rows  # the admin's sign-in belongs to no institution
    # A name with no account finds the attempts made with it, and nothing else.
    html = client.get("/admin/audit?username=no.such.name").get_data(as_text=True)
    rows = text_of(html, "audit-events")
    assert rows.count("登入失敗") == 1
    assert "送出帳號申請" not in rows and "audit.clinic" not in rows


def test_audit_search_by_date_uses_taipei_days(client, db_session):
    admin = factories.staff(StaffRole.PORTAL_ADMIN)
    login_staff(client, admin)
    today = local_now().date().isoformat()
    html = client.get(f"/admin/audit?date_from={today}&date_to={today}&action=login.succeeded")
    assert "登入成功" in text_of(html.get_data(as_text=True), "audit-events")
    yesterday = (local_now().date() - timedelta(days=1)).isoformat()
    html = client.get(f"/admin/audit?date_to={yesterday}&action=login.succeeded")
    assert "沒有符合的紀錄" in text_of(html.get_data(as_text=True), "audit-events")


def test_fifty_concurrent_wrong_passwords_are_all_recorded_and_lock_the_address(live_app):
    live_app.config["RATELIMIT_LOGIN"] = "1000 per minute"
    with live_app.app_context():
        from portal.accounts.models import AccountState

        person = factories.account(state=AccountState.ACTIVE, username="many.tries")
        db.session.commit()
        person_id = person.id
    clients = [live_app.test_client() for _ in range(50)]
    tokens = [csrf_token(c.get("/login").get_data(as_text=True)) for c in clients]

    def attempt(client, token):
        data = {"csrf_token": token, "username": "many.tries", "password": "Wrong*1"}
        return lambda: client.post("/login", data=data).status_code

    codes = at_once(*map(attempt, clients, tokens), timeout=120)
    assert codes == [401] * 50
    with live_app.app_context():
        attempts = db.session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.action.in_(("login.failed", "login.refused_locked")),
                AuditEvent.subject_id == str(person_id),
            )
        ).all()
    # Each one is on record: as a failure, or refused because the address was locked.
    assert len(attempts) == 50
    assert attempts.count("login.failed") >= live_app.config["LOGIN_MAX_FAILURES"]
    assert login(live_app.test_client(), "many.tries").status_code == 401
