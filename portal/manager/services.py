"""A unit manager decides on their own institution's general users, and nobody else's."""

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload

from portal.accounts.models import Account, AccountState, Role
from portal.audit.services import Origin, record_event
from portal.auth.services import end_other_sessions
from portal.decisions import Decision, DecisionKind, decide
from portal.errors import AlreadyDecided, DomainError, NotInScope
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.locking import for_update
from portal.manager.notifications import (
    send_deactivated,
    send_decision,
    send_digest,
    send_reactivated,
)
from portal.registration.models import Application, ApplicationState


class ManagerNoLongerActive(DomainError):
    """The manager was deactivated or demoted while deciding; nothing was changed."""

    status = 409
    message = _l("您的管理者帳號已停用或已不是管理者，無法審核。")


class NotDeactivated(DomainError):
    """Only a deactivated account can be reactivated; nothing was changed."""

    status = 409
    message = _l("這個帳號不是停用中的帳號，未做任何變更。")


def pending_applications(manager: Account) -> list[Application]:
    """General-user applications waiting for this manager's institution."""
    return list(
        db.session.scalars(
            select(Application)
            .where(
                Application.institution_id == manager.institution_id,
                Application.state == ApplicationState.AWAITING_MANAGER,
            )
            .order_by(Application.submitted_at)
        )
    )


@dataclass(frozen=True)
class Digest:
    """One institution's daily list: its active managers and the applications waiting."""

    managers: list[Account]
    applications: list[Application]


def pending_digests() -> list[Digest]:
    """A digest for each institution that has applications waiting and an active manager."""
    waiting = db.session.scalars(
        select(Application)
        .where(Application.state == ApplicationState.AWAITING_MANAGER)
        .options(joinedload(Application.account))
        .order_by(Application.institution_id, Application.submitted_at, Application.id)
    ).all()
    if not waiting:
        return []
    by_institution = {
        institution_id: list(applications)
        for institution_id, applications in groupby(waiting, lambda a: a.institution_id)
    }
    managers = db.session.scalars(
        select(Account)
        .where(
            Account.institution_id.in_(by_institution),
            Account.role == Role.MANAGER,
            Account.state == AccountState.ACTIVE,
        )
        .order_by(Account.institution_id, Account.id)
    ).all()
    return [
        Digest(list(institution_managers), by_institution[institution_id])
        for institution_id, institution_managers in groupby(managers, lambda m: m.institution_id)
    ]


def send_pending_digests() -> int:
    """Queue each institution's digest to its active managers (MANAGER_NOTICE "daily");
    how many e-mails were queued."""
    return sum(send_digest(digest.managers, digest.applications) for digest in pending_digests())


def has_pending_applications(manager: Account) -> bool:
    """Whether any general-user application waits for this manager's institution."""
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Application.institution_id == manager.institution_id,
                    Application.state == ApplicationState.AWAITING_MANAGER,
                )
            )
        )
    )


def application_in_scope(manager: Account, application_id: int) -> Application:
    """The application, if it is a general user's of the manager's institution."""
    application = db.session.get(Application, application_id)
    if application is None or application.institution_id != manager.institution_id:
        raise NotInScope()
    if application.account.role is not Role.GENERAL:
        raise NotInScope()
    return application


class ManagerDecidedApplication(DecisionKind[Application]):
    """A general user's application, decided by a unit manager of the same institution."""

    subject_type = "application"
    approved_action = "application.approved"
    refused_action = "application.refused"

    def __init__(self, manager_id: int) -> None:
        self.manager_id = manager_id

    def lock(self, subject_id: int) -> Application | None:
        """Lock the manager first, then the application: a deactivation or demotion of this
        manager, or a second decision on this application, waits and sees the outcome."""
        manager = db.session.scalar(
            for_update(select(Account).where(Account.id == self.manager_id))
        )
        if not (manager.state is AccountState.ACTIVE and manager.role is Role.MANAGER):
            db.session.rollback()
            raise ManagerNoLongerActive()
        return db.session.scalar(
            for_update(select(Application).where(Application.id == subject_id))
        )

    def is_open(self, subject: Application) -> bool:
        """Still waiting for a manager."""
        return subject.state is ApplicationState.AWAITING_MANAGER

    def approve(self, subject: Application, decision: Decision, now: datetime) -> None:
        """The general user's account opens."""
        subject.decided_at, subject.decided_by_id = now, decision.actor_id
        subject.state = ApplicationState.APPROVED
        subject.account.state, subject.account.activated_at = AccountState.ACTIVE, now

    def refuse(self, subject: Application, decision: Decision, now: datetime) -> None:
        """Refused with the manager's reason."""
        subject.decided_at, subject.decided_by_id = now, decision.actor_id
        subject.state, subject.refusal_reason = ApplicationState.REFUSED, decision.reason
        subject.account.state = AccountState.REFUSED

    def audit_key(self, subject: Application) -> tuple[str, int | None]:
        """The application number and the institution."""
        return subject.application_no, subject.institution_id

    def notify(self, subject: Application, decision: Decision) -> None:
        """Tell the applicant."""
        send_decision(subject, decision.reason)


def decide_application(
    manager: Account, application_id: int, approve: bool, reason: str, origin: Origin
) -> Application:
    """Approve or refuse a general user; exactly one decision wins a race."""
    application_in_scope(manager, application_id)
    return decide(
        ManagerDecidedApplication(manager.id),
        application_id,
        Decision(manager.id, approve, reason, origin),
    )


def institution_users(manager: Account) -> list[Account]:
    """The general users of the manager's institution who have been decided on."""
    return list(
        db.session.scalars(
            select(Account)
            .where(
                Account.institution_id == manager.institution_id,
                Account.role == Role.GENERAL,
                Account.state.in_([AccountState.ACTIVE, AccountState.DEACTIVATED]),
            )
            .order_by(Account.username)
        )
    )


def general_user_in_scope(manager: Account, account_id: int) -> Account:
    """A general user of the manager's own institution."""
    account = db.session.get(Account, account_id)
    _check_scope(manager, account)
    return account


def _check_scope(manager: Account, account: Account | None) -> None:
    if (
        account is None
        or account.institution_id != manager.institution_id
        or account.role is not Role.GENERAL
    ):
        raise NotInScope()


def _locked_general_user(manager: Account, account_id: int) -> Account:
    """The account, locked, if it is a general user of the manager's own institution."""
    account = db.session.scalar(for_update(select(Account).where(Account.id == account_id)))
    _check_scope(manager, account)
    return account


def deactivate_user(manager: Account, account_id: int, reason: str, origin: Origin) -> Account:
    """停用 a general user of the manager's own institution, for a reason; their sessions
    end, and they are told why."""
    account = _locked_general_user(manager, account_id)
    if account.state is not AccountState.ACTIVE:
        db.session.rollback()
        raise AlreadyDecided()
    account.state = AccountState.DEACTIVATED
    # Ended in the same transaction, not left for their next request to notice.
    end_other_sessions(account, reason="deactivated")
    record_event(
        "account.deactivated",
        subject_type="account",
        subject_id=account.id,
        origin=origin,
        actor_account_id=manager.id,
        institution_id=manager.institution_id,
        detail={"reason": reason},
    )
    send_deactivated(account, reason)
    db.session.commit()
    return account


def reactivate_user(manager: Account, account_id: int, origin: Origin) -> Account:
    """重新啟用 a deactivated general user of the manager's own institution; they are told."""
    account = _locked_general_user(manager, account_id)
    if account.state is not AccountState.DEACTIVATED:
        db.session.rollback()
        raise NotDeactivated()
    account.state = AccountState.ACTIVE
    record_event(
        "account.reactivated",
        subject_type="account",
        subject_id=account.id,
        origin=origin,
        actor_account_id=manager.id,
        institution_id=manager.institution_id,
    )
    send_reactivated(account)
    db.session.commit()
    return account
