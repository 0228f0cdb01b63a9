"""What the help desk must decide soon: paper filings overdue, due today, due next working day.

A filing is due REVIEW_WORKING_DAYS working days after the day its scan arrived, on the
government work calendar with its typhoon closures. Adding working days never reorders
dates, so "due by day D" is "arrived on or before the last day whose due date is D or
earlier": one bound on the queue's (state, step_started_at) index, for both tables.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import Select, String, func, literal, select, type_coerce, union_all

from portal.accounts.models import Account
from portal.changes.models import ChangeState, ManagerChange
from portal.extensions import db
from portal.institutions.models import Institution
from portal.localtime import TAIPEI, local_date
from portal.registration.models import Application, ApplicationState
from portal.review.services import FILER, FORM_A
from portal.workcalendar.workdays import WorkCalendar

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DueFiling:
    """One filing waiting for the help desk, with its due date."""

    kind: str
    number: str
    institution_name: str
    institution_code: str
    applicant_name: str
    started_at: datetime
    due_on: date


@dataclass(frozen=True)
class DueGroup:
    """Filings due in one window: how many, and the earliest of them."""

    count: int
    filings: list[DueFiling]


@dataclass(frozen=True)
class HelpDeskDigest:
    """The help desk's morning list."""

    today: date
    next_working_day: date
    overdue: DueGroup
    due_today: DueGroup
    due_next: DueGroup

    @property
    def empty(self) -> bool:
        """Nothing overdue and nothing due by the next working day."""
        return not (self.overdue.count or self.due_today.count or self.due_next.count)


def last_start_due_by(calendar: WorkCalendar, day: date, working_days: int) -> date:
    """The last day a filing may arrive on and still be due on `day` or earlier."""
    start = day
    while calendar.add_working_days(start, working_days) > day:
        start -= ONE_DAY
    return start


def _arrived_before(day: date) -> datetime:
    """The moment the Taipei day after `day` begins: arrivals on `day` or earlier are before."""
    return datetime.combine(day + ONE_DAY, time.min, tzinfo=TAIPEI)


def _bounds(calendar: WorkCalendar, today: date) -> tuple[datetime, datetime, datetime]:
    """Arrival bounds of the overdue, due-today and due-next-working-day windows."""
    days = current_app.config["REVIEW_WORKING_DAYS"]
    following = calendar.add_working_days(today, 1)
    return tuple(
        _arrived_before(last_start_due_by(calendar, day, days))
        for day in (today - ONE_DAY, today, following)
    )


def _waiting(model) -> list:
    """The conditions of a paper filing waiting for the help desk."""
    if model is Application:
        return [
            Application.state == ApplicationState.AWAITING_PAPER_REVIEW,
            Application.paper_at.is_not(None),
        ]
    return [
        ManagerChange.state == ChangeState.AWAITING_PAPER_REVIEW,
        ManagerChange.paper_at.is_not(None),
    ]


def waiting_counts() -> dict[str, int]:
    """Paper filings waiting for the help desk, by table ("application", "change")."""
    return {
        name: db.session.scalar(select(func.count()).select_from(model).where(*_waiting(model)))
        for name, model in (("application", Application), ("change", ManagerChange))
    }


def overdue_counts(calendar: WorkCalendar, today: date) -> dict[str, int]:
    """Waiting paper filings past their due date, by table ("application", "change")."""
    overdue, _, _ = _bounds(calendar, today)
    return {
        name: db.session.scalar(
            select(func.count())
            .select_from(model)
            .where(*_waiting(model), model.step_started_at < overdue)
        )
        for name, model in (("application", Application), ("change", ManagerChange))
    }


def help_desk_digest(calendar: WorkCalendar, today: date, listed: int = 50) -> HelpDeskDigest:
    """Overdue filings and those due today or on the next working day; up to `listed` of
    each, earliest first."""
    overdue, due_today, due_next = _bounds(calendar, today)
    windows = ((None, overdue), (overdue, due_today), (due_today, due_next))
    groups = [_group(calendar, after, before, listed) for after, before in windows]
    return HelpDeskDigest(today, calendar.add_working_days(today, 1), *groups)


def _group(
    calendar: WorkCalendar, after: datetime | None, before: datetime, listed: int
) -> DueGroup:
    """The filings that arrived in [after, before): their number and the earliest few."""
    days = current_app.config["REVIEW_WORKING_DAYS"]
    branches = [_application_rows(after, before), _change_rows(after, before)]
    merged = union_all(*branches).subquery()
    count = db.session.scalar(select(func.count()).select_from(merged))
    rows = db.session.execute(
        select(merged).order_by(merged.c.started, merged.c.number).limit(listed)
    ).all()
    filings = [
        DueFiling(
            row.kind,
            row.number,
            row.institution_name,
            row.institution_code,
            row.applicant,
            row.started,
            calendar.add_working_days(local_date(row.started), days),
        )
        for row in rows
    ]
    return DueGroup(count, filings)


def _in_window(statement: Select, started, after: datetime | None, before: datetime) -> Select:
    statement = statement.where(started < before)
    return statement.where(started >= after) if after is not None else statement


def _application_rows(after: datetime | None, before: datetime) -> Select:
    statement = (
        select(
            type_coerce(literal(FORM_A), String).label("kind"),
            Application.application_no.label("number"),
            Application.step_started_at.label("started"),
            Institution.name.label("institution_name"),
            Institution.code.label("institution_code"),
            Account.name.label("applicant"),
        )
        .join(Institution, Application.institution_id == Institution.id)
        .join(Account, Application.account_id == Account.id)
        .where(*_waiting(Application))
    )
    return _in_window(statement, Application.step_started_at, after, before)


def _change_rows(after: datetime | None, before: datetime) -> Select:
    statement = (
        select(
            type_coerce(ManagerChange.kind, String).label("kind"),
            ManagerChange.change_no.label("number"),
            ManagerChange.step_started_at.label("started"),
            Institution.name.label("institution_name"),
            Institution.code.label("institution_code"),
            FILER.name.label("applicant"),
        )
        .join(Institution, ManagerChange.institution_id == Institution.id)
        .join(FILER, ManagerChange.filed_by_id == FILER.id)
        .where(*_waiting(ManagerChange))
    )
    return _in_window(statement, ManagerChange.step_started_at, after, before)
