"""Subsystems offered to applicants, and their administrators' decisions on access."""

from sqlalchemy import select

from portal.accounts.models import Account
from portal.audit.services import Origin, record_event
from portal.db_types import utcnow
from portal.errors import AlreadyDecided, NotInScope  # noqa: F401  (views catch AlreadyDecided)
from portal.extensions import db
from portal.locking import for_update
from portal.subsystems.models import RequestState, Subsystem, SubsystemRequest


def offered_subsystems() -> list[Subsystem]:
    """Active subsystems in display order."""
    return list(
        db.session.scalars(
            select(Subsystem).where(Subsystem.active).order_by(Subsystem.sort_order, Subsystem.id)
        )
    )


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


def requests_for_admin(admin: Account, state: RequestState | None = None) -> list[SubsystemRequest]:
    """Requests for the administrator's subsystems only, oldest first."""
    statement = select(SubsystemRequest).where(
        SubsystemRequest.subsystem_id.in_(administered_subsystem_ids(admin))
    )
    if state is not None:
        statement = statement.where(SubsystemRequest.state == state)
    return list(db.session.scalars(statement.order_by(SubsystemRequest.requested_at).limit(500)))


def request_in_scope(admin: Account, request_id: int) -> SubsystemRequest:
    """The request, if it is for one of the administrator's subsystems; 404 otherwise."""
    item = db.session.get(SubsystemRequest, request_id)
    if item is None or item.subsystem_id not in administered_subsystem_ids(admin):
        raise NotInScope()
    return item


def decide_request(
    admin: Account, request_id: int, action: str, origin: Origin
) -> SubsystemRequest:
    """Approve, refuse or revoke access; exactly one of two racing decisions applies."""
    request_in_scope(admin, request_id)
    needed, outcome = TRANSITIONS[action]
    item = db.session.scalar(
        for_update(
            select(SubsystemRequest).where(SubsystemRequest.id == request_id),
            of=SubsystemRequest,
        )
    )
    if item.state is not needed:
        db.session.rollback()
        raise AlreadyDecided()
    item.state, item.decided_at = outcome, utcnow()
    record_event(
        AUDIT_ACTIONS[outcome],
        subject_type="subsystem_request",
        subject_id=item.id,
        origin=origin,
        actor_account_id=admin.id,
        detail={"subsystem": item.subsystem.code, "account_id": item.account_id},
    )
    db.session.commit()
    return item
