"""Manager changes under races: each ends in one consistent state, on PostgreSQL as on SQLite.

Each test starts the racing requests together (`at_once`) against committed data.
"""

import time
from functools import partial

import pyotp
from sqlalchemy import func, select

from portal.accounts.models import Account, AccountState, Role, StaffRole
from portal.audit.models import AuditEvent
from portal.changes import decisions as change_decisions
from portal.changes import services
from portal.changes.models import ChangeAction, ChangeState, ManagerChange, ManagerChangeItem
from portal.db_types import utcnow
from portal.extensions import db
from portal.registration.models import Application, ApplicationState
from portal.security.encryption import decrypt_text
from portal.verification.models import PaperScan
from tests import factories
from tests.functional.auth_helpers import login
from tests.functional.helpers import at_once, csrf_token


def slowed(monkeypatch, owner, name, seconds=0.3):
    """Make owner.name linger after it runs, so that racing requests overlap there.

    Without the lock under test, both requests then pass the check before either commits.
    """
    original = getattr(owner, name)

    def lingering(*args, **kwargs):
        result = original(*args, **kwargs)
        time.sleep(seconds)
        return result

    monkeypatch.setattr(owner, name, lingering)


def prepared_filing(client, **fields):
    """The filing POST with its CSRF token fetched now, to be sent later in a race."""
    token = csrf_token(client.get("/manager-changes/new").get_data(as_text=True))
    return partial(client.post, "/manager-changes/new", data={"csrf_token": token, **fields})


def signed_in(app, username):
    client = app.test_client()
    assert login(client, username).status_code == 303
    return client


def signed_in_staff(app, username, secret):
    client = app.test_client()
    login(client, username)
    page = client.get("/login/second-factor").get_data(as_text=True)
    client.post(
        "/login/second-factor",
        data={"csrf_token": csrf_token(page), "code": pyotp.TOTP(secret).now()},
    )
    return client


def change_under_review(clinic, filer, account, action) -> ManagerChange:
    """A committed change whose scan waits for the help desk."""
    change = ManagerChange(
        change_no=f"M{factories.next_number():014d}",
        institution_id=clinic.id,
        filed_by_id=filer.id,
        kind=action.value,
        state=ChangeState.AWAITING_PAPER_REVIEW,
        paper_at=utcnow(),
        items=[ManagerChangeItem(account_id=account.id, action=action, open_account_id=account.id)],
    )
    db.session.add(change)
    db.session.flush()
    db.session.add(
        PaperScan(
            change_id=change.id,
            stored_name=f"c{change.id}.png",
            original_name="scan.png",
            content_type="image/png",
            size=72,
            sha256="0" * 64,
        )
    )
    return change


def test_the_last_two_managers_each_demoting_the_other_leave_one(live_app, monkeypatch):
    slowed(monkeypatch, services, "_check_keeps_a_manager")
    with live_app.app_context():
        clinic = factories.institution()
        first, second = factories.active_manager(clinic), factories.active_manager(clinic)
        factories.account(institution=clinic, role=Role.GENERAL, state=AccountState.ACTIVE)
        db.session.commit()
        ids = first.id, second.id
        names = first.username, second.username
    clients = [signed_in(live_app, name) for name in names]
    results = at_once(
        prepared_filing(clients[0], kind="demote", target_id=ids[1]),
        prepared_filing(clients[1], kind="demote", target_id=ids[0]),
    )
    assert sorted(r.status_code for r in results) == [303, 422]
    refused = next(r for r in results if r.status_code == 422).get_data(as_text=True)
    assert "沒有任何單位業務管理者" in refused
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ManagerChange)) == 1


def test_two_handovers_naming_one_manager_at_once_file_one(live_app):
    with live_app.app_context():
        clinic = factories.institution()
        leaving, staying = factories.active_manager(clinic), factories.active_manager(clinic)
        heirs = [
            factories.account(institution=clinic, role=Role.GENERAL, state=AccountState.ACTIVE)
            for _ in range(2)
        ]
        db.session.commit()
        leaving_id, heir_ids = leaving.id, [heir.id for heir in heirs]
        names = leaving.username, staying.username
    clients = [signed_in(live_app, name) for name in names]
    results = at_once(
        *(
            prepared_filing(
                client,
                kind="handover",
                target_id=leaving_id,
                handover_action="deactivate",
                successor_id=heir_id,
            )
            for client, heir_id in zip(clients, heir_ids, strict=True)
        )
    )
    assert sorted(r.status_code for r in results) == [303, 422]
    with live_app.app_context():
        winner = db.session.scalar(select(ManagerChange))
        assert db.session.scalar(select(func.count()).select_from(ManagerChange)) == 1
    refused = next(r for r in results if r.status_code == 422).get_data(as_text=True)
    assert winner.change_no in refused


def test_two_reviewers_deciding_one_change_make_one_decision(live_app, monkeypatch):
    slowed(monkeypatch, change_decisions.PaperReviewedChange, "is_open")
    with live_app.app_context():
        clinic = factories.institution()
        leaving, staying = factories.active_manager(clinic), factories.active_manager(clinic)
        change = change_under_review(clinic, staying, leaving, ChangeAction.DEACTIVATE)
        reviewers = [factories.staff(StaffRole.HELP_DESK) for _ in range(2)]
        db.session.commit()
        change_id, leaving_id = change.id, leaving.id
        logins = [(r.username, decrypt_text(r.totp_secret_encrypted)) for r in reviewers]
    clients = [signed_in_staff(live_app, *credentials) for credentials in logins]
    posts = []
    for client, decision in zip(clients, ("approve", "refuse"), strict=True):
        path = f"/review/changes/{change_id}"
        token = csrf_token(client.get(path).get_data(as_text=True))
        data = {"csrf_token": token, "decision": decision, "reason": "重複", "confirm": "yes"}
        posts.append(partial(client.post, f"{path}/decision", data=data))
    results = at_once(*posts)
    assert all(response.status_code == 303 for response in results)
    with live_app.app_context():
        decisions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.subject_type == "manager_change")
        ).all()
        state = db.session.get(ManagerChange, change_id).state
        leaving_state = db.session.get(Account, leaving_id).state
    assert len(decisions) == 1
    assert (state is ChangeState.APPROVED) == (leaving_state is AccountState.DEACTIVATED)


def test_a_demotion_applied_while_its_target_approves_a_general_user(live_app, monkeypatch):
    slowed(monkeypatch, services, "_still_applies", 0.2)
    with live_app.app_context():
        clinic = factories.institution()
        target, other = factories.active_manager(clinic), factories.active_manager(clinic)
        change = change_under_review(clinic, other, target, ChangeAction.DEMOTE)
        applicant = factories.application(factories.account(institution=clinic))
        reviewer = factories.staff(StaffRole.HELP_DESK)
        db.session.commit()
        change_id, application_id = change.id, applicant.id
        target_name = target.username
        credentials = reviewer.username, decrypt_text(reviewer.totp_secret_encrypted)
    manager = signed_in(live_app, target_name)
    helpdesk = signed_in_staff(live_app, *credentials)
    manager_token = csrf_token(
        manager.get(f"/manager/applications/{application_id}").get_data(as_text=True)
    )
    review_path = f"/review/changes/{change_id}"
    review_token = csrf_token(helpdesk.get(review_path).get_data(as_text=True))
    at_once(
        partial(
            manager.post,
            f"/manager/applications/{application_id}/decision",
            data={"csrf_token": manager_token, "decision": "approve"},
        ),
        partial(
            helpdesk.post,
            f"{review_path}/decision",
            data={"csrf_token": review_token, "decision": "approve", "confirm": "yes"},
        ),
    )
    with live_app.app_context():
        events = dict(
            db.session.execute(
                select(AuditEvent.action, AuditEvent.id).where(
                    AuditEvent.action.in_(["application.approved", "manager_change.approved"])
                )
            ).all()
        )
        application_state = db.session.get(Application, application_id).state
    assert "manager_change.approved" in events
    # Approved only by a manager who still was one: before the demotion, never after it.
    if application_state is ApplicationState.APPROVED:
        assert events["application.approved"] < events["manager_change.approved"]
    else:
        assert application_state is ApplicationState.AWAITING_MANAGER
        assert "application.approved" not in events
