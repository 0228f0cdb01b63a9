"""The calendar in force: Taiwan's government calendar plus administrators' overrides, and
the overrides themselves (closures such as typhoon days, extra workdays), each audited."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.audit.services import Origin, record_event
from portal.errors import NotInScope
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.workcalendar.models import CalendarOverride, OverrideKind
from portal.workcalendar.workdays import WorkCalendar

# What each kind of override is called, wherever it is shown.
OVERRIDE_LABELS = {
    OverrideKind.CLOSED: _l("停止上班"),
    OverrideKind.WORKING: _l("補行上班"),
}


def current_calendar() -> WorkCalendar:
    """The work calendar with every stored override applied."""
    return _calendar(_stored())


def calendar_with(day: date, kind: OverrideKind | None) -> WorkCalendar:
    """The calendar as it would be with `day` overridden as `kind` (None: no override)."""
    overrides = {stored_day: stored_kind for stored_day, stored_kind in _stored()}
    overrides.pop(day, None)
    if kind is not None:
        overrides[day] = kind
    return _calendar(overrides.items())


def _stored() -> list[tuple[date, OverrideKind]]:
    return [
        tuple(row)
        for row in db.session.execute(select(CalendarOverride.day, CalendarOverride.kind))
    ]


def _calendar(overrides) -> WorkCalendar:
    overrides = list(overrides)
    return WorkCalendar(
        closures=[day for day, kind in overrides if kind is OverrideKind.CLOSED],
        extra_workdays=[day for day, kind in overrides if kind is OverrideKind.WORKING],
    )


def all_overrides() -> list[CalendarOverride]:
    """Every override, the latest day first."""
    return list(db.session.scalars(select(CalendarOverride).order_by(CalendarOverride.day.desc())))


def override_on(day: date) -> CalendarOverride | None:
    """The override of this day, if there is one."""
    return db.session.scalar(select(CalendarOverride).where(CalendarOverride.day == day))


def override_by_id(override_id: int) -> CalendarOverride:
    """An override by id; NotInScope if there is none (another administrator removed it)."""
    override = db.session.get(CalendarOverride, override_id)
    if override is None:
        raise NotInScope()
    return override


@dataclass(frozen=True)
class SavedOverride:
    """The override as stored, and whether it replaced an earlier one of the same day."""

    override: CalendarOverride
    replaced: bool


def save_override(
    day: date,
    kind: OverrideKind,
    reason: str,
    origin: Origin,
    actor_id: int | None,
    moved: Sequence[str] = (),
) -> SavedOverride:
    """Declare the day closed or working (replacing the day's earlier override); `moved`
    names the open applications and changes whose due date this moves, for the audit."""
    override = override_on(day)
    before = _described(override) if override else None
    if override is None:
        override = CalendarOverride(day=day)
        db.session.add(override)
    override.kind, override.reason = kind, reason
    try:
        db.session.flush()
    except IntegrityError:
        # Another administrator declared the same day a moment ago: this one replaces it.
        db.session.rollback()
        return save_override(day, kind, reason, origin, actor_id, moved)
    detail = {**_described(override), "moved": list(moved)}
    if before:
        detail = {"before": before, "after": _described(override), "moved": list(moved)}
    _audit("calendar.override_set", day, origin, actor_id, detail)
    db.session.commit()
    return SavedOverride(override, replaced=before is not None)


def remove_override(
    override_id: int, origin: Origin, actor_id: int, moved: Sequence[str] = ()
) -> CalendarOverride:
    """Give the day back to the government calendar; `moved` as for save_override."""
    override = override_by_id(override_id)
    _audit(
        "calendar.override_removed",
        override.day,
        origin,
        actor_id,
        {**_described(override), "moved": list(moved)},
    )
    db.session.delete(override)
    db.session.commit()
    return override


def _described(override: CalendarOverride) -> dict:
    return {
        "day": override.day.isoformat(),
        "override": override.kind.value,
        "reason": override.reason,
    }


def _audit(action: str, day: date, origin: Origin, actor_id: int | None, detail: dict) -> None:
    record_event(
        action,
        subject_type="calendar_day",
        subject_id=day.isoformat(),
        origin=origin,
        actor_account_id=actor_id,
        detail=detail,
    )
