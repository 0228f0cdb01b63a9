"""The help desk's queue: paper applications by due date, and one decision per application."""

from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import exists, func, or_, select
from werkzeug.exceptions import NotFound

from portal.accounts.models import Account, AccountState
from portal.audit.services import Origin, record_event
from portal.db_types import utcnow
from portal.extensions import db
from portal.institutions.models import Institution
from portal.localtime import local_date
from portal.locking import for_update
from portal.registration.models import Application, ApplicationState
from portal.verification.models import PaperScan
from portal.workcalendar.workdays import WorkCalendar

PAGE_SIZE = 25
QUEUE_STATES = (
    ApplicationState.AWAITING_PAPER_REVIEW,
    ApplicationState.REFUSED,
    ApplicationState.APPROVED,
)


class AlreadyDecided(Exception):
    """Another reviewer decided first; nothing was changed."""


@dataclass(frozen=True)
class QueueItem:
    """One row of the queue: what the table shows of an application, and its due date."""

    application_id: int
    application_no: str
    institution_name: str
    institution_code: str
    applicant_name: str
    step_started_at: datetime
    due_on: date
    overdue: bool


@dataclass(frozen=True)
class QueuePosition:
    """Where a page of the queue ended: its last row's upload time and id.

    "載入更多" asks for the rows after it (keyset paging): the database walks the
    (state, step_started_at) index from there, where OFFSET made it walk past every row of
    the earlier pages first, and a decision taken meanwhile moves no row to another page.
    """

    step_started_at: datetime
    application_id: int

    def token(self) -> str:
        """The position as the next page's link carries it."""
        return f"{self.step_started_at.isoformat()}_{self.application_id}"

    @classmethod
    def from_token(cls, token: str) -> "QueuePosition | None":
        """The position a link carried; None for anything that is not one."""
        moment, _, application_id = token.rpartition("_")
        try:
            parsed = datetime.fromisoformat(moment)
            return cls(parsed, int(application_id)) if parsed.tzinfo else None
        except ValueError:
            return None


def queue(
    calendar: WorkCalendar,
    today: date,
    state: ApplicationState = ApplicationState.AWAITING_PAPER_REVIEW,
    institution_code: str = "",
    after: QueuePosition | None = None,
) -> tuple[list[QueueItem], QueuePosition | None]:
    """Paper applications, earliest due first; and where the next page starts, if any.

    The due date is a fixed number of working days after the upload, and adding working
    days never reorders dates, so ordering by upload time is ordering by due date.
    """
    # EXISTS walks the (state, step_started_at) index and stops at a page; IN (SELECT
    # DISTINCT …) hashed every scan of the table on each request.
    has_scan = exists().where(PaperScan.application_id == Application.id)
    # The columns the table shows, not whole objects: loading 26 applications with their
    # accounts and institutions as ORM objects was most of the page's time.
    statement = (
        select(
            Application.id,
            Application.application_no,
            Application.step_started_at,
            Institution.name,
            Institution.code,
            Account.name,
        )
        .join(Institution, Application.institution_id == Institution.id)
        .join(Account, Application.account_id == Account.id)
        .where(Application.state == state, has_scan)
    )
    if institution_code:
        statement = statement.where(Institution.code == institution_code)
    if after is not None:
        started = Application.step_started_at
        statement = statement.where(
            # The first condition alone is what the index can seek to; the second breaks
            # ties of the same moment by id, as the order does.
            started >= after.step_started_at,
            or_(started > after.step_started_at, Application.id > after.application_id),
        )
    statement = statement.order_by(Application.step_started_at, Application.id)
    rows = db.session.execute(statement.limit(PAGE_SIZE + 1)).all()
    days = current_app.config["REVIEW_WORKING_DAYS"]
    pending = state is ApplicationState.AWAITING_PAPER_REVIEW
    items = []
    for application_id, number, started, institution, code, applicant in rows[:PAGE_SIZE]:
        due = calendar.add_working_days(local_date(started), days)
        items.append(
            QueueItem(
                application_id,
                number,
                institution,
                code,
                applicant,
                started,
                due,
                pending and today > due,
            )
        )
    if len(rows) <= PAGE_SIZE:
        return items, None
    last = items[-1]
    return items, QueuePosition(last.step_started_at, last.application_id)


def count_waiting() -> int:
    """How many paper applications wait for a decision."""
    return db.session.scalar(
        select(func.count())
        .select_from(Application)
        .where(Application.state == ApplicationState.AWAITING_PAPER_REVIEW)
    )


def paper_application(application_id: int) -> Application:
    """A manager application that has a scan; 404 for anything else."""
    application = db.session.get(Application, application_id)
    has_scan = application is not None and db.session.scalar(
        select(func.count())
        .select_from(PaperScan)
        .where(PaperScan.application_id == application.id)
    )
    if not has_scan:
        raise NotFound()
    return application


def scan_of(application: Application, scan_id: int) -> PaperScan:
    """One scan of this application; 404 otherwise."""
    scan = db.session.get(PaperScan, scan_id)
    if scan is None or scan.application_id != application.id:
        raise NotFound()
    return scan


def decide(
    reviewer: Account, application_id: int, approve: bool, reason: str, origin: Origin
) -> Application:
    """Approve or refuse on paper; of two reviewers deciding at once, exactly one wins."""
    application = db.session.scalar(
        for_update(select(Application).where(Application.id == application_id))
    )
    if application is None:
        raise NotFound()
    if application.state is not ApplicationState.AWAITING_PAPER_REVIEW:
        db.session.rollback()
        raise AlreadyDecided()
    now = utcnow()
    application.decided_at, application.decided_by_id = now, reviewer.id
    if approve:
        application.state, application.verified_by = ApplicationState.APPROVED, "paper"
        application.account.state, application.account.activated_at = AccountState.ACTIVE, now
    else:
        application.state, application.refusal_reason = ApplicationState.REFUSED, reason
    record_event(
        "verification.paper_approved" if approve else "verification.paper_refused",
        subject_type="application",
        subject_id=application.application_no,
        origin=origin,
        actor_account_id=reviewer.id,
        institution_id=application.institution_id,
        detail={"reason": reason} if reason else {},
    )
    db.session.commit()
    return application


def record_id_revealed(reviewer: Account, application: Application, origin: Origin) -> None:
    """Showing a full ID number is itself an audit event."""
    record_event(
        "national_id.revealed",
        subject_type="application",
        subject_id=application.application_no,
        origin=origin,
        actor_account_id=reviewer.id,
        institution_id=application.institution_id,
    )
    db.session.commit()
