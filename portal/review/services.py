"""The help desk's queue: paper applications by due date, and one decision per application."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache

from flask import current_app
from sqlalchemy import (
    Select,
    String,
    bindparam,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import aliased

from portal.accounts.models import Account, AccountState
from portal.audit.services import Origin, record_event
from portal.changes.models import ChangeKind, ChangeState, ManagerChange
from portal.decisions import Decision, DecisionKind
from portal.decisions import decide as run_decision
from portal.errors import AlreadyDecided, NotInScope  # noqa: F401  (views catch AlreadyDecided)
from portal.extensions import db
from portal.institutions.models import Institution
from portal.localtime import local_date
from portal.locking import for_update
from portal.registration import notifications as registration_notifications
from portal.registration.models import Application, ApplicationState
from portal.registration.services import applications_left_without_manager
from portal.verification import notifications
from portal.verification.models import PaperScan
from portal.workcalendar.workdays import WorkCalendar

PAGE_SIZE = 25
# The queue's tabs count each state up to this many and then say "more than".
COUNT_CAP = 1000
# The states the help desk filters by; applications and changes spell them alike.
QUEUE_STATES = (
    ApplicationState.AWAITING_PAPER_REVIEW,
    ApplicationState.REFUSED,
    ApplicationState.APPROVED,
)
# What the queue filters by kind: A is a manager application, the others are changes.
FORM_A = "A"
QUEUE_KINDS = (FORM_A, *(kind.value for kind in ChangeKind))
# Made once: an alias built per request costs milliseconds of SQLAlchemy work, as each of its
# columns is adapted again.
DECIDER = aliased(Account, name="decider")
FILER = aliased(Account, name="filer")


@dataclass(frozen=True)
class QueueItem:
    """One row of the queue: an application (A) or a change, and its due date."""

    kind: str
    subject_id: int
    number: str
    institution_name: str
    institution_code: str
    applicant_name: str
    step_started_at: datetime
    due_on: date
    overdue: bool
    decided_at: datetime | None
    decided_by: str | None
    refusal_reason: str | None

    @property
    def is_change(self) -> bool:
        """Whether this row is a manager change (B, C.a, C.b, hand-over)."""
        return self.kind != FORM_A


@dataclass(frozen=True)
class QueuePosition:
    """Where a page of the queue ended: its last row's upload time and number.

    "載入更多" asks for the rows after it (keyset paging): the database walks each table's
    (state, step_started_at) index from there, where OFFSET made it walk past every row of
    the earlier pages first, and a decision taken meanwhile moves no row to another page.
    Numbers are unique across applications and changes (changes start with M).
    """

    step_started_at: datetime
    number: str

    def token(self) -> str:
        """The position as the next page's link carries it."""
        return f"{self.step_started_at.isoformat()}_{self.number}"

    @classmethod
    def from_token(cls, token: str) -> "QueuePosition | None":
        """The position a link carried; None for anything that is not one."""
        moment, _, number = token.rpartition("_")
        try:
            parsed = datetime.fromisoformat(moment)
            # Compared in UTC, which cannot hold the calendar's ends east or west of it.
            parsed = parsed.astimezone(UTC) if parsed.tzinfo else parsed
        except (ValueError, OverflowError):
            return None
        valid = parsed.tzinfo and number.isascii() and number.isalnum() and len(number) <= 20
        return cls(parsed, number) if valid else None


@dataclass(frozen=True)
class QueueFilter:
    """What the help desk chose to see."""

    state: ApplicationState = ApplicationState.AWAITING_PAPER_REVIEW
    kind: str = ""
    institution_code: str = ""


def queue(
    calendar: WorkCalendar,
    today: date,
    chosen: QueueFilter = QueueFilter(),
    after: QueuePosition | None = None,
) -> tuple[list[QueueItem], QueuePosition | None]:
    """Paper applications and changes, earliest due first; and where the next page starts.

    The due date is a fixed number of working days after the upload, and adding working
    days never reorders dates, so ordering by upload time is ordering by due date. Each
    table gives its first page through its own index; the two are merged.
    """
    statement = _queue_statement(chosen.kind, bool(chosen.institution_code), after is not None)
    rows = db.session.execute(statement, _parameters(chosen, after)).all()
    days = current_app.config["REVIEW_WORKING_DAYS"]
    pending = chosen.state is ApplicationState.AWAITING_PAPER_REVIEW
    items = []
    for row in rows[:PAGE_SIZE]:
        due = calendar.add_working_days(local_date(row.started), days)
        items.append(
            QueueItem(
                kind=row.kind,
                subject_id=row.subject_id,
                number=row.number,
                institution_name=row.institution_name,
                institution_code=row.institution_code,
                applicant_name=row.applicant,
                step_started_at=row.started,
                due_on=due,
                overdue=pending and today > due,
                decided_at=row.decided_at,
                decided_by=row.decided_by,
                refusal_reason=row.refusal_reason,
            )
        )
    if len(rows) <= PAGE_SIZE:
        return items, None
    last = items[-1]
    return items, QueuePosition(last.step_started_at, last.number)


def _parameters(chosen: QueueFilter, after: QueuePosition | None) -> dict:
    """The values the queue's and the counts' statements are run with."""
    return {
        "application_state": chosen.state,
        "change_state": ChangeState(chosen.state.value),
        "change_kind": ChangeKind(chosen.kind) if chosen.kind not in ("", FORM_A) else None,
        "institution_code": chosen.institution_code,
        "after_started": after.step_started_at if after else None,
        "after_number": after.number if after else None,
    }


# The statements depend on the filter's shape only, never on its values (those are bound
# parameters): each shape is built once per process. Building the union of two joined
# selects took longer than running it.
@cache
def _queue_statement(kind: str, by_institution: bool, paged: bool) -> Select:
    """One page of the queue for this shape of filter, both tables merged in queue order."""
    branches = []
    if kind in ("", FORM_A):
        branches.append(_application_rows(by_institution, paged))
    if kind != FORM_A:
        branches.append(_change_rows(bool(kind), by_institution, paged))
    merged = union_all(*(select(branch.subquery()) for branch in branches)).subquery()
    return select(merged).order_by(merged.c.started, merged.c.number).limit(PAGE_SIZE + 1)


def _application_rows(by_institution: bool, paged: bool) -> Select:
    """Manager applications (form A) that went to paper, in the chosen state: one page.

    The partial index on (state, step_started_at, number) WHERE paper_at IS NOT NULL holds
    exactly these rows in queue order, so a page is a short index walk.
    """
    statement = (
        select(
            type_coerce(literal(FORM_A), String).label("kind"),
            Application.id.label("subject_id"),
            Application.application_no.label("number"),
            Application.step_started_at.label("started"),
            Institution.name.label("institution_name"),
            Institution.code.label("institution_code"),
            Account.name.label("applicant"),
            Application.decided_at.label("decided_at"),
            DECIDER.name.label("decided_by"),
            Application.refusal_reason.label("refusal_reason"),
        )
        .join(Institution, Application.institution_id == Institution.id)
        .join(Account, Application.account_id == Account.id)
        .outerjoin(DECIDER, Application.decided_by_id == DECIDER.id)
        .where(
            Application.state == bindparam("application_state"),
            Application.paper_at.is_not(None),
        )
    )
    return _page_of(
        statement, by_institution, paged, Application.step_started_at, Application.application_no
    )


def _change_rows(by_kind: bool, by_institution: bool, paged: bool) -> Select:
    """Manager changes that went to paper, in the chosen state (and kind): one page."""
    statement = (
        select(
            type_coerce(ManagerChange.kind, String).label("kind"),
            ManagerChange.id.label("subject_id"),
            ManagerChange.change_no.label("number"),
            ManagerChange.step_started_at.label("started"),
            Institution.name.label("institution_name"),
            Institution.code.label("institution_code"),
            FILER.name.label("applicant"),
            ManagerChange.decided_at.label("decided_at"),
            DECIDER.name.label("decided_by"),
            ManagerChange.refusal_reason.label("refusal_reason"),
        )
        .join(Institution, ManagerChange.institution_id == Institution.id)
        .join(FILER, ManagerChange.filed_by_id == FILER.id)
        .outerjoin(DECIDER, ManagerChange.decided_by_id == DECIDER.id)
        .where(
            ManagerChange.state == bindparam("change_state"),
            ManagerChange.paper_at.is_not(None),
        )
    )
    if by_kind:
        statement = statement.where(ManagerChange.kind == bindparam("change_kind"))
    return _page_of(
        statement, by_institution, paged, ManagerChange.step_started_at, ManagerChange.change_no
    )


def _page_of(statement: Select, by_institution: bool, paged: bool, started, number) -> Select:
    """The institution filter, the rows after the position, and one page in queue order."""
    if by_institution:
        statement = statement.where(Institution.code == bindparam("institution_code"))
    if paged:
        after_started = bindparam("after_started", type_=started.type)
        after_number = bindparam("after_number", type_=number.type)
        statement = statement.where(
            # The first condition alone is what the index can seek to; the second breaks
            # ties of the same moment by number, as the order does.
            started >= after_started,
            or_(started > after_started, number > after_number),
        )
    return statement.order_by(started, number).limit(PAGE_SIZE + 1)


def counts_by_state(chosen: QueueFilter = QueueFilter()) -> dict[str, int]:
    """How many paper filings of the chosen kind and institution each state holds, counted
    up to COUNT_CAP + 1 (the tabs say "1000+" beyond that).

    Only filings that went to paper (`paper_at` set by their first scan) are counted, from
    the partial index on them. Counting stops past the cap: counting every one of 50,000
    waiting filings on each page load was most of the page's database time.
    """
    counts = dict.fromkeys((state.value for state in QUEUE_STATES), 0)
    parameters = _parameters(chosen, None)
    models = []
    if chosen.kind in ("", FORM_A):
        models.append(Application)
    if chosen.kind != FORM_A:
        models.append(ManagerChange)
    for model in models:
        statement = _counts_statement(model, bool(chosen.kind), bool(chosen.institution_code))
        for state, count in db.session.execute(statement, parameters):
            counts[state] += count
    return counts


@cache
def _counts_statement(model: type, by_kind: bool, by_institution: bool) -> Select:
    """Each queue state's count, capped, for one table and this shape of filter."""
    per_state = []
    for state in QUEUE_STATES:
        rows = select(model.id).where(model.state == state.value, model.paper_at.is_not(None))
        if model is ManagerChange and by_kind:
            rows = rows.where(ManagerChange.kind == bindparam("change_kind"))
        if by_institution:
            rows = rows.join(Institution, model.institution_id == Institution.id).where(
                Institution.code == bindparam("institution_code")
            )
        capped = rows.limit(COUNT_CAP + 1).subquery()
        per_state.append(
            select(literal(state.value).label("state"), func.count().label("n")).select_from(capped)
        )
    return union_all(*per_state)


def paper_application(application_id: int) -> Application:
    """A manager application that has a scan; NotInScope for anything else."""
    application = db.session.get(Application, application_id)
    if application is None or not db.session.scalar(
        select(exists().where(PaperScan.application_id == application.id))
    ):
        raise NotInScope()
    return application


def paper_change(change_id: int) -> ManagerChange:
    """A manager change that has a scan; NotInScope for anything else."""
    change = db.session.get(ManagerChange, change_id)
    if change is None or not db.session.scalar(
        select(exists().where(PaperScan.change_id == change.id))
    ):
        raise NotInScope()
    return change


def scan_of(filing: Application | ManagerChange, scan_id: int) -> PaperScan:
    """One scan of this application or change; NotInScope otherwise."""
    scan = db.session.get(PaperScan, scan_id)
    owner = scan and (scan.change_id if isinstance(filing, ManagerChange) else scan.application_id)
    if scan is None or owner != filing.id:
        raise NotInScope()
    return scan


class PaperReviewedApplication(DecisionKind[Application]):
    """A manager application (form A) whose stamped scan the help desk decides on."""

    subject_type = "application"
    approved_action = "verification.paper_approved"
    refused_action = "verification.paper_refused"

    def lock(self, subject_id: int) -> Application | None:
        """The application, locked."""
        return db.session.scalar(
            for_update(select(Application).where(Application.id == subject_id))
        )

    def is_open(self, subject: Application) -> bool:
        """Only a scan under review is decided."""
        return subject.state is ApplicationState.AWAITING_PAPER_REVIEW

    def approve(self, subject: Application, decision: Decision, now: datetime) -> None:
        """The manager account opens."""
        subject.decided_at, subject.decided_by_id = now, decision.actor_id
        subject.state, subject.verified_by = ApplicationState.APPROVED, "paper"
        subject.account.state, subject.account.activated_at = AccountState.ACTIVE, now

    def refuse(self, subject: Application, decision: Decision, now: datetime) -> None:
        """Refused with a reason; the applicant may upload a better scan."""
        subject.decided_at, subject.decided_by_id = now, decision.actor_id
        subject.state, subject.refusal_reason = ApplicationState.REFUSED, decision.reason

    def audit_key(self, subject: Application) -> tuple[str, int | None]:
        """The application number and its institution."""
        return subject.application_no, subject.institution_id

    def notify(self, subject: Application, decision: Decision) -> None:
        """Tell the applicant; after a refusal, also the general users left waiting there."""
        if decision.approve:
            notifications.send_verified(subject)
        else:
            notifications.send_paper_refused(subject)
            registration_notifications.send_left_without_manager(
                applications_left_without_manager(subject.institution)
            )


def decide(
    reviewer: Account, application_id: int, approve: bool, reason: str, origin: Origin
) -> Application:
    """Approve or refuse a manager application on paper; of two reviewers, exactly one wins."""
    return run_decision(
        PaperReviewedApplication(),
        application_id,
        Decision(reviewer.id, approve, reason, origin),
    )


def record_id_revealed(
    reviewer: Account, filing: Application | ManagerChange, origin: Origin
) -> None:
    """Showing a full ID number is itself an audit event."""
    is_change = isinstance(filing, ManagerChange)
    record_event(
        "national_id.revealed",
        subject_type="manager_change" if is_change else "application",
        subject_id=filing.change_no if is_change else filing.application_no,
        origin=origin,
        actor_account_id=reviewer.id,
        institution_id=filing.institution_id,
    )
    db.session.commit()
