"""Which open applications and manager changes a change of the work calendar moves.

An application waiting for the help desk (paper review) or for its unit manager, and a
manager change waiting for the help desk, are due REVIEW_WORKING_DAYS working days after
their step began (what 申請進度查詢 and the help desk's queue show). A closure or an extra
workday on one day moves the due date of exactly those whose count of working days crosses
that day; the administrator sees them before saving.
"""

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select

from portal.changes.models import ChangeState, ManagerChange
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.institutions.models import Institution
from portal.localtime import TAIPEI, local_date
from portal.registration.models import Application, ApplicationState
from portal.workcalendar.workdays import WorkCalendar

HELP_DESK = _l("系統服務窗口（紙本審核）")
UNIT_MANAGER = _l("單位業務管理者")
# Who each waiting state waits for.
WAITING_FOR = {
    ApplicationState.AWAITING_PAPER_REVIEW: HELP_DESK,
    ApplicationState.AWAITING_MANAGER: UNIT_MANAGER,
}


@dataclass(frozen=True)
class MovedDueDate:
    """An open application or change whose due date the calendar change moves."""

    number: str
    institution_name: str
    waiting_for: str
    started_on: date
    due_before: date
    due_after: date

    @property
    def later(self) -> bool:
        """Whether the item is now due later (a closure) rather than sooner."""
        return self.due_after > self.due_before


def moved_due_dates(
    before: WorkCalendar, after: WorkCalendar, day: date, review_days: int
) -> list[MovedDueDate]:
    """The open applications and changes due on another day once `after` replaces
    `before`, where the two differ on `day` only; earliest due first."""
    if review_days <= 0:
        return []
    # An item's count of working days starts the day after its step began and reaches the
    # due date: only items begun before `day`, and not so long before that they were due
    # before it under either calendar, can see `day` in their count.
    earliest = min(calendar.add_working_days(day, -review_days) for calendar in (before, after))
    since = datetime.combine(earliest, time(0), TAIPEI)
    until = datetime.combine(day, time(0), TAIPEI)
    moved = []
    for number, institution_name, waiting_for, started in _open_items(since, until):
        started_on = local_date(started)
        due_before = before.add_working_days(started_on, review_days)
        due_after = after.add_working_days(started_on, review_days)
        if due_before != due_after:
            moved.append(
                MovedDueDate(
                    number, institution_name, str(waiting_for), started_on, due_before, due_after
                )
            )
    return sorted(moved, key=lambda item: (item.due_before, item.number))


def _open_items(since: datetime, until: datetime):
    """(number, institution name, who it waits for, when its step began) of every open
    application and change whose step began in [since, until)."""
    applications = db.session.execute(
        select(
            Application.application_no,
            Institution.name,
            Application.state,
            Application.step_started_at,
        )
        .join(Institution, Application.institution_id == Institution.id)
        .where(
            Application.state.in_(tuple(WAITING_FOR)),
            Application.step_started_at >= since,
            Application.step_started_at < until,
        )
    )
    for number, name, state, started in applications:
        yield number, name, WAITING_FOR[state], started
    changes = db.session.execute(
        select(ManagerChange.change_no, Institution.name, ManagerChange.step_started_at)
        .join(Institution, ManagerChange.institution_id == Institution.id)
        .where(
            ManagerChange.state == ChangeState.AWAITING_PAPER_REVIEW,
            ManagerChange.step_started_at >= since,
            ManagerChange.step_started_at < until,
        )
    )
    for number, name, started in changes:
        yield number, name, HELP_DESK, started
