"""Managers decide on general users; subsystem administrators on access. One decision wins."""

from sqlalchemy import func, select

from portal.accounts.models import Account, AccountState
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.registration.models import Application, ApplicationState
from portal.subsystems.models import RequestState, Subsystem, SubsystemRequest
from tests import factories
from tests.functional.auth_helpers import login, post_form
from tests.functional.helpers import at_once, csrf_token, text_of


def decide(client, application_id, decision, reason=""):
    return post_form(
        client,
        f"/manager/applications/{application_id}",
        f"/manager/applications/{application_id}/decision",
        {"decision": decision, "reason": reason},
    )


def prepared_decision(client, application_id, decision, reason=""):
    """The decision's POST, with its CSRF token fetched now, to be sent later in a race."""
    token = csrf_token(client.get(f"/manager/applications/{application_id}").get_data(as_text=True))
    data = {"csrf_token": token, "decision": decision, "reason": reason}
    return lambda: client.post(f"/manager/applications/{application_id}/decision", data=data)


def test_manager_approves_and_the_applicant_can_sign_in(client, db_session, smtp_sink):
    clinic = factories.institution()
    manager = factories.active_manager(clinic)
    applicant = factories.account(institution=clinic, username="new.staff", email="n@example.org")
    application = factories.application(applicant)
    login(client, manager.username)
    assert decide(client, application.id, "approve").status_code == 303
    db_session.expire_all()
    assert application.state is ApplicationState.APPROVED
    assert applicant.state is AccountState.ACTIVE
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "n@example.org" and "已核准" in mail["Subject"]
    assert (
        db_session.scalar(
            select(AuditEvent.actor_account_id).where(AuditEvent.action == "application.approved")
        )
        == manager.id
    )
    assert login(client.application.test_client(), "new.staff").status_code == 303


def test_refusal_needs_a_reason(client, db_session, smtp_sink):
    clinic = factories.institution()
    manager = factories.active_manager(clinic)
    application = factories.application(factories.account(institution=clinic))
    login(client, manager.username)
    missing = decide(client, application.id, "refuse")
    assert missing.status_code == 422
    assert "請填寫原因" in text_of(missing.get_data(as_text=True), "reason-error")
    assert decide(client, application.id, "refuse", "非本機構人員").status_code == 303
    db_session.expire_all()
    assert application.state is ApplicationState.REFUSED
    assert "非本機構人員" in smtp_sink.wait_for(1)[0].get_content()


def test_subsystem_admin_approves_then_revokes(client, db_session):
    from portal.accounts.models import StaffRole
    from tests.functional.auth_helpers import login_staff

    admin = factories.staff(StaffRole.SUBSYSTEM_ADMIN, ("cessation",))
    cessation = db_session.scalar(select(Subsystem).where(Subsystem.code == "cessation"))
    item = SubsystemRequest(
        account=factories.account(state=AccountState.ACTIVE), subsystem=cessation
    )
    db_session.add(item)
    db_session.flush()
    login_staff(client, admin)
    page = f"/subsystem-admin/requests/{item.id}"
    post_form(client, page, f"{page}/approve", {})
    db_session.expire_all()
    assert item.state is RequestState.APPROVED
    again = post_form(client, page, f"{page}/approve", {})
    assert again.status_code == 303
    assert "已由其他管理者處理" in client.get("/subsystem-admin/requests").get_data(as_text=True)
    post_form(client, page, f"{page}/revoke", {})
    db_session.expire_all()
    assert item.state is RequestState.REVOKED


def test_two_managers_deciding_at_once_make_one_decision(live_app):
    with live_app.app_context():
        clinic = factories.institution()
        first, second = factories.active_manager(clinic), factories.active_manager(clinic)
        application = factories.application(factories.account(institution=clinic))
        db.session.commit()
        ids = (first.username, second.username, application.id)
    clients = [live_app.test_client(), live_app.test_client()]
    for client, username in zip(clients, ids[:2], strict=True):
        login(client, username)
    at_once(
        prepared_decision(clients[0], ids[2], "approve"),
        prepared_decision(clients[1], ids[2], "refuse", "重複申請"),
    )
    with live_app.app_context():
        decisions = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.in_(["application.approved", "application.refused"]))
        )
        state = db.session.get(Application, ids[2]).state
    assert decisions == 1
    assert state in (ApplicationState.APPROVED, ApplicationState.REFUSED)


def test_manager_deactivated_while_approving_ends_consistent(live_app):
    with live_app.app_context():
        clinic = factories.institution()
        manager = factories.active_manager(clinic)
        application = factories.application(factories.account(institution=clinic))
        db.session.commit()
        manager_id, manager_name, application_id = manager.id, manager.username, application.id
    client = live_app.test_client()
    login(client, manager_name)

    def deactivate_manager():
        with live_app.app_context():
            account = db.session.scalar(
                select(Account).where(Account.id == manager_id).with_for_update()
            )
            account.state = AccountState.DEACTIVATED
            db.session.commit()

    at_once(prepared_decision(client, application_id, "approve"), deactivate_manager)
    with live_app.app_context():
        state = db.session.get(Application, application_id).state
        approved_by = db.session.scalar(
            select(AuditEvent.actor_account_id).where(AuditEvent.action == "application.approved")
        )
    # Either the approval came first (by a then-active manager) or nothing was approved.
    assert (state is ApplicationState.APPROVED) == (approved_by == manager_id)
    assert state in (ApplicationState.APPROVED, ApplicationState.AWAITING_MANAGER)
