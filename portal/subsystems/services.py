"""Subsystems offered to people, their requests for access, and the administrators' decisions.

A person asks (at registration, from 我的子系統, or from the page a subsystem's sign-in shows
when access is missing) with a short justification, and may withdraw a request still
waiting. A subsystem's administrators approve (several at once, only for active accounts),
refuse with a reason, or revoke; the person is e-mailed every decision, and a revocation
signs them out of that subsystem at once (portal.oidc.logout).
"""

from dataclasses import dataclass

from sqlalchemy import select

from portal.accounts.models import Account
from portal.audit.services import Origin, record_event
from portal.db_types import utcnow
from portal.errors import AlreadyDecided, DomainError, NotInScope
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.locking import for_update
from portal.subsystems.models import RequestState, Subsystem, SubsystemRequest

JUSTIFICATION_MAX = 200
REASON_MAX = 200


class AccessRequestRefused(DomainError):
    """A request for access that cannot be made or changed; the message says why."""

    status = 422

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message


class AccountNotActiveYet(DomainError):
    """Access is approved only for an account that can sign in."""

    status = 409
    message = _l("這個帳號尚未啟用（或已停用），無法核准子系統權限。請待帳號啟用後再審核。")


class ReasonNeeded(DomainError):
    """A refusal tells the person why."""

    status = 422
    message = _l("請填寫不核准的原因（會以電子郵件告知申請人）。")


def offered_subsystems() -> list[Subsystem]:
    """Active subsystems in display order."""
    return list(
        db.session.scalars(
            select(Subsystem).where(Subsystem.active).order_by(Subsystem.sort_order, Subsystem.id)
        )
    )


def ask_for_access(
    account: Account,
    subsystem_code: str,
    justification: str,
    origin: Origin,
    resume_path: str | None = None,
) -> SubsystemRequest:
    """Ask for a subsystem, or again after a refusal or revocation; commits.

    A request already waiting keeps its place in the queue (its justification is updated).
    """
    justification = " ".join((justification or "").split())
    if not justification:
        raise AccessRequestRefused(_l("請簡短說明需要使用這個子系統的原因。"))
    if len(justification) > JUSTIFICATION_MAX:
        raise AccessRequestRefused(_l("說明請在 200 字以內。"))
    subsystem = db.session.scalar(
        select(Subsystem).where(Subsystem.code == subsystem_code, Subsystem.active)
    )
    if subsystem is None:
        raise AccessRequestRefused(_l("請選擇要申請的子系統。"))
    item = db.session.scalar(
        for_update(
            select(SubsystemRequest).where(
                SubsystemRequest.account_id == account.id,
                SubsystemRequest.subsystem_id == subsystem.id,
            ),
            of=SubsystemRequest,
        )
    )
    if item is not None and item.state is RequestState.APPROVED:
        db.session.rollback()
        raise AccessRequestRefused(_l("您已經可以使用這個子系統。"))
    if item is None:
        item = SubsystemRequest(account_id=account.id, subsystem=subsystem)
        db.session.add(item)
    if item.state is not RequestState.PENDING:
        item.requested_at, item.decided_at, item.refusal_reason = utcnow(), None, None
    item.state, item.justification = RequestState.PENDING, justification
    item.resume_path = resume_path or item.resume_path
    db.session.flush()
    _audit("subsystem_request.asked", item, account, origin)
    db.session.commit()
    return item


def withdraw_request(account: Account, request_id: int, origin: Origin) -> str:
    """Withdraw one of the person's own requests still waiting; commits; the subsystem name."""
    item = db.session.scalar(
        for_update(
            select(SubsystemRequest).where(SubsystemRequest.id == request_id),
            of=SubsystemRequest,
        )
    )
    if item is None or item.account_id != account.id:
        raise NotInScope()
    if item.state is not RequestState.PENDING:
        db.session.rollback()
        raise AlreadyDecided()
    name = item.subsystem.name
    _audit("subsystem_request.withdrawn", item, account, origin)
    db.session.delete(item)
    db.session.commit()
    return name


def requests_of(account: Account) -> list[SubsystemRequest]:
    """The person's requests, in the subsystems' display order."""
    return sorted(account.subsystem_requests, key=lambda item: (item.subsystem.sort_order, item.id))


def not_yet_asked(account: Account) -> list[Subsystem]:
    """The active subsystems the person has no request for."""
    asked = {item.subsystem_id for item in account.subsystem_requests}
    return [subsystem for subsystem in offered_subsystems() if subsystem.id not in asked]


# What each action needs the request to be in, and what it becomes.
TRANSITIONS = {
    "approve": (RequestState.PENDING, RequestState.APPROVED),
    "refuse": (RequestState.PENDING, RequestState.REFUSED),
    "revoke": (RequestState.APPROVED, RequestState.REVOKED),
}
# The audit trail's name for each outcome, spelled out so every recorded action can be found.
AUDIT_ACTIONS = {
    RequestState.APPROVED: "subsystem_request.approved",
    RequestState.REFUSED: "subsystem_request.refused",
    RequestState.REVOKED: "subsystem_request.revoked",
}


def administered_subsystem_ids(admin: Account) -> list[int]:
    """The subsystems this administrator decides on."""
    return [subsystem.id for subsystem in admin.administered_subsystems]


@dataclass(frozen=True)
class AdminQueue:
    """The requests an administrator sees: those they can decide, and those they cannot yet."""

    items: list[SubsystemRequest]
    # Waiting requests of accounts not active (not yet approved by their manager, or
    # deactivated): shown apart, since they cannot be approved.
    inactive: list[SubsystemRequest]


def requests_for_admin(admin: Account, state: RequestState | None = None) -> AdminQueue:
    """Requests for the administrator's subsystems only, oldest first."""
    statement = (
        select(SubsystemRequest)
        .where(SubsystemRequest.subsystem_id.in_(administered_subsystem_ids(admin)))
        .order_by(SubsystemRequest.requested_at, SubsystemRequest.id)
        .limit(500)
    )
    if state is not None:
        statement = statement.where(SubsystemRequest.state == state)
    found = list(db.session.scalars(statement))
    if state is not RequestState.PENDING:
        return AdminQueue(found, [])
    return AdminQueue(
        [item for item in found if item.account.is_active],
        [item for item in found if not item.account.is_active],
    )


def request_in_scope(admin: Account, request_id: int) -> SubsystemRequest:
    """The request, if it is for one of the administrator's subsystems; 404 otherwise."""
    item = db.session.get(SubsystemRequest, request_id)
    if item is None or item.subsystem_id not in administered_subsystem_ids(admin):
        raise NotInScope()
    return item


def decide_request(
    admin: Account, request_id: int, action: str, origin: Origin, reason: str = ""
) -> SubsystemRequest:
    """Approve, refuse (with a reason) or revoke access; exactly one of two racing decisions
    applies; the person is e-mailed; commits."""
    item = _decide(admin, request_id, action, origin, reason)
    db.session.commit()
    return item


def approve_many(admin: Account, request_ids: list[int], origin: Origin) -> tuple[int, int]:
    """Approve several requests at once; commits. (approved, skipped): a request another
    administrator decided first, or of an account not active, is skipped."""
    approved = skipped = 0
    for request_id in dict.fromkeys(request_ids):
        try:
            _decide(admin, request_id, "approve", origin)
        except (AlreadyDecided, AccountNotActiveYet):
            skipped += 1
        else:
            approved += 1
    db.session.commit()
    return approved, skipped


def _decide(
    admin: Account, request_id: int, action: str, origin: Origin, reason: str = ""
) -> SubsystemRequest:
    from portal.oidc.logout import subsystem_access_revoked
    from portal.subsystems.notifications import send_decision

    request_in_scope(admin, request_id)
    needed, outcome = TRANSITIONS[action]
    reason = " ".join((reason or "").split())[:REASON_MAX]
    if outcome is RequestState.REFUSED and not reason:
        raise ReasonNeeded()
    item = db.session.scalar(
        for_update(
            select(SubsystemRequest).where(SubsystemRequest.id == request_id),
            of=SubsystemRequest,
        )
    )
    if item.state is not needed:
        raise AlreadyDecided()
    if outcome is RequestState.APPROVED and not item.account.is_active:
        raise AccountNotActiveYet()
    item.state, item.decided_at = outcome, utcnow()
    item.refusal_reason = reason or None
    detail = {"subsystem": item.subsystem.code, "account_id": item.account_id}
    if reason:
        detail["reason"] = reason
    record_event(
        AUDIT_ACTIONS[outcome],
        subject_type="subsystem_request",
        subject_id=item.id,
        origin=origin,
        actor_account_id=admin.id,
        institution_id=item.account.institution_id,
        detail=detail,
    )
    if outcome is RequestState.REVOKED:
        subsystem_access_revoked(item.account_id, item.subsystem_id)
    send_decision(item)
    return item


def _audit(action: str, item: SubsystemRequest, account: Account, origin: Origin) -> None:
    record_event(
        action,
        subject_type="subsystem_request",
        subject_id=item.id,
        origin=origin,
        actor_account_id=account.id,
        institution_id=account.institution_id,
        detail={"subsystem": item.subsystem.code, "account_id": account.id},
    )
