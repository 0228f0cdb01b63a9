"""A unit manager decides on their own institution's general users, and nobody else's."""

from dataclasses import dataclass
from itertools import groupby

from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload
from werkzeug.exceptions import NotFound

from portal.accounts.models import Account, AccountState, Role
from portal.audit.services import Origin, record_event
from portal.auth.services import end_other_sessions
from portal.db_types import utcnow
from portal.extensions import db
from portal.locking import for_update
from portal.registration.models import Application, ApplicationState


class AlreadyDecided(Exception):
    """Someone decided first; nothing was changed."""


class ManagerNoLongerActive(Exception):
    """The manager was deactivated while deciding; nothing was changed."""


class NotDeactivated(Exception):
    """Only a deactivated account can be reactivated; nothing was changed."""


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


def active_managers(institution_id: int) -> list[Account]:
    """The institution's active unit managers."""
    return list(
        db.session.scalars(
            select(Account)
            .where(
                Account.institution_id == institution_id,
                Account.role == Role.MANAGER,
                Account.state == AccountState.ACTIVE,
            )
            .order_by(Account.id)
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
    """The application, if it belongs to the manager's institution; 404 otherwise."""
    application = db.session.get(Application, application_id)
    if application is None or application.institution_id != manager.institution_id:
        raise NotFound()
    if application.account.role is not Role.GENERAL:
        raise NotFound()
    return application


def decide_application(
    manager: Account, application_id: int, approve: bool, reason: str, origin: Origin
) -> Application:
    """Approve or refuse a general user; exactly one decision wins a race."""
    application_in_scope(manager, application_id)
    # Lock the manager first, then the application: a deactivation of this manager or a
    # second decision on this application waits, and sees the outcome.
    locked_manager = db.session.scalar(for_update(select(Account).where(Account.id == manager.id)))
    application = db.session.scalar(
        for_update(select(Application).where(Application.id == application_id))
    )
    if locked_manager.state is not AccountState.ACTIVE:
        db.session.rollback()
        raise ManagerNoLongerActive()
    if application.state is not ApplicationState.AWAITING_MANAGER:
        db.session.rollback()
        raise AlreadyDecided()
    now = utcnow()
    application.decided_at, application.decided_by_id = now, manager.id
    account = application.account
    if approve:
        application.state = ApplicationState.APPROVED
        account.state, account.activated_at = AccountState.ACTIVE, now
    else:
        # Kept on the application too: 申請進度查詢 shows the applicant why.
        application.state, application.refusal_reason = ApplicationState.REFUSED, reason
        account.state = AccountState.REFUSED
    record_event(
        "application.approved" if approve else "application.refused",
        subject_type="application",
        subject_id=application.application_no,
        origin=origin,
        actor_account_id=manager.id,
        institution_id=manager.institution_id,
        detail={"reason": reason} if reason else {},
    )
    db.session.commit()
    return application


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
    """A general user of the manager's own institution; 404 otherwise."""
    account = db.session.get(Account, account_id)
    _check_scope(manager, account)
    return account


def _check_scope(manager: Account, account: Account | None) -> None:
    if (
        account is None
        or account.institution_id != manager.institution_id
        or account.role is not Role.GENERAL
    ):
        raise NotFound()


def _locked_general_user(manager: Account, account_id: int) -> Account:
    """The account, locked, if it is a general user of the manager's own institution."""
    account = db.session.scalar(for_update(select(Account).where(Account.id == account_id)))
    _check_scope(manager, account)
    return account


def deactivate_user(manager: Account, account_id: int, reason: str, origin: Origin) -> Account:
    """停用 a general user of the manager's own institution, for a reason; their sessions end."""
    account = _locked_general_user(manager, account_id)
    if account.state is not AccountState.ACTIVE:
        db.session.rollback()
        raise AlreadyDecided()
    account.state = AccountState.DEACTIVATED
    # Ended in the same transaction, not left for their next request to notice.
    end_other_sessions(account)
    record_event(
        "account.deactivated",
        subject_type="account",
        subject_id=account.id,
        origin=origin,
        actor_account_id=manager.id,
        institution_id=manager.institution_id,
        detail={"reason": reason},
    )
    db.session.commit()
    return account


def reactivate_user(manager: Account, account_id: int, origin: Origin) -> Account:
    """重新啟用 a deactivated general user of the manager's own institution."""
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
    db.session.commit()
    return account
