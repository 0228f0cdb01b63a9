"""The calendar in force: Taiwan's government calendar plus administrators' overrides."""

from sqlalchemy import select

from portal.extensions import db
from portal.workcalendar.models import CalendarOverride, OverrideKind
from portal.workcalendar.workdays import WorkCalendar


def current_calendar() -> WorkCalendar:
    """The work calendar with every stored override applied."""
    overrides = db.session.execute(select(CalendarOverride.day, CalendarOverride.kind)).all()
    return WorkCalendar(
        closures=[day for day, kind in overrides if kind is OverrideKind.CLOSED],
        extra_workdays=[day for day, kind in overrides if kind is OverrideKind.WORKING],
    )
