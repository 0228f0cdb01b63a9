"""Keeping the list of subsystems: a portal administrator adds and edits them, each change
audited. An inactive subsystem is no longer offered; access already granted stays."""

from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Account
from portal.audit.services import Origin, record_event
from portal.errors import DomainError, NotInScope
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.subsystems.models import Subsystem


class SubsystemError(DomainError):
    """A subsystem change broke a rule; `field` names the form field."""

    status = 409
    field: str | None = None


class SubsystemCodeTaken(SubsystemError):
    field = "code"
    message = _l("這個代碼已有其他子系統使用，請換一個。")


class SubsystemNameTaken(SubsystemError):
    field = "name"
    message = _l("已有同名的子系統，請換一個名稱。")


# The audit trail's name for a column whose own name means something else there.
AUDIT_KEYS = {"active": "enabled"}


@dataclass(frozen=True)
class SubsystemDetails:
    """A subsystem as the administrator's form describes it (already checked for format)."""

    code: str
    name: str
    description: str
    sort_order: int
    active: bool


def all_subsystems() -> list[Subsystem]:
    """Every subsystem, active or not, in display order."""
    return list(db.session.scalars(select(Subsystem).order_by(Subsystem.sort_order, Subsystem.id)))


def subsystem_by_id(subsystem_id: int) -> Subsystem:
    """A subsystem by id; NotInScope if there is none."""
    subsystem = db.session.get(Subsystem, subsystem_id)
    if subsystem is None:
        raise NotInScope()
    return subsystem


def add_subsystem(details: SubsystemDetails, origin: Origin, actor: Account) -> Subsystem:
    """A new subsystem, offered to applicants at once if active."""
    _refuse_taken(details)
    subsystem = Subsystem(**asdict(details))
    db.session.add(subsystem)
    _flush(details)
    _audit("subsystem.created", subsystem, origin, actor, _described(subsystem))
    db.session.commit()
    return subsystem


def change_subsystem(
    subsystem_id: int, details: SubsystemDetails, origin: Origin, actor: Account
) -> bool:
    """Change a subsystem's code, name, description, order or state; whether anything did."""
    subsystem = subsystem_by_id(subsystem_id)
    _refuse_taken(details, subsystem.id)
    before, after = {}, {}
    for attribute, value in asdict(details).items():
        if getattr(subsystem, attribute) != value:
            key = AUDIT_KEYS.get(attribute, attribute)
            before[key], after[key] = getattr(subsystem, attribute), value
            setattr(subsystem, attribute, value)
    if not after:
        return False
    _flush(details, subsystem.id)
    _audit("subsystem.updated", subsystem, origin, actor, {"before": before, "after": after})
    db.session.commit()
    return True


def _refuse_taken(details: SubsystemDetails, own_id: int | None = None) -> None:
    for column, error in (
        (Subsystem.code, SubsystemCodeTaken),
        (Subsystem.name, SubsystemNameTaken),
    ):
        value = details.code if column is Subsystem.code else details.name
        holder = db.session.scalar(select(Subsystem.id).where(column == value))
        if holder is not None and holder != own_id:
            raise error()


def _flush(details: SubsystemDetails, own_id: int | None = None) -> None:
    """Write the row; a code or name taken a moment ago by another administrator is refused
    by the database's unique constraints, and said as the same error."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        _refuse_taken(details, own_id)
        raise SubsystemCodeTaken() from None


def _described(subsystem: Subsystem) -> dict:
    return {
        "code": subsystem.code,
        "name": subsystem.name,
        "description": subsystem.description,
        "sort_order": subsystem.sort_order,
        "enabled": subsystem.active,
    }


def _audit(action: str, subsystem: Subsystem, origin: Origin, actor: Account, detail: dict):
    record_event(
        action,
        subject_type="subsystem",
        subject_id=subsystem.code,
        origin=origin,
        actor_account_id=actor.id,
        detail=detail,
    )
