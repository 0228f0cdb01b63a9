"""What the progress page (申請進度查詢) tells an applicant about their application."""

import enum
from dataclasses import dataclass
from datetime import date

from portal.i18n import lazy_gettext as _l
from portal.localtime import local_date
from portal.registration.models import Application, ApplicationState
from portal.subsystems.models import RequestState
from portal.workcalendar.workdays import WorkCalendar

STATE_LABELS = {
    ApplicationState.AWAITING_VERIFICATION: _l("待機構驗證"),
    ApplicationState.AWAITING_PAPER_REVIEW: _l("紙本審核中"),
    ApplicationState.AWAITING_MANAGER: _l("待單位業務管理者審核"),
    ApplicationState.APPROVED: _l("已核准，帳號已啟用"),
    ApplicationState.REFUSED: _l("未核准"),
}
REQUEST_STATE_LABELS = {
    RequestState.PENDING: _l("待子系統管理者審核"),
    RequestState.APPROVED: _l("已核准"),
    RequestState.REFUSED: _l("未核准"),
    RequestState.REVOKED: _l("已撤銷"),
}


class StepState(enum.StrEnum):
    """Where one step of an application stands."""

    DONE = "done"
    CURRENT = "current"
    UPCOMING = "upcoming"
    REFUSED = "refused"


# Said in words next to each step, so that no state is told by colour alone.
STEP_STATE_LABELS = {
    StepState.DONE: _l("（已完成）"),
    StepState.CURRENT: _l("（進行中）"),
    StepState.UPCOMING: _l("（尚未開始）"),
    StepState.REFUSED: _l("（未核准）"),
}
WAITING_FOR_A_MANAGER = _l(
    "貴機構的單位業務管理者申請未獲核准，目前沒有人能審核您的申請。"
    "您的申請會保留，等貴機構有單位業務管理者後再由他審核；"
    "請洽貴機構重新申請單位業務管理者帳號。"
)
MANAGER_STEPS = (_l("送出申請"), _l("機構驗證（醫事機構卡或紙本審核）"), _l("帳號啟用"))
GENERAL_STEPS = (_l("送出申請"), _l("單位業務管理者審核"), _l("帳號啟用"))
# Both kinds are decided at their second step: verification, or the unit manager's review.
DECIDING_STEP = 1


@dataclass(frozen=True)
class Step:
    """One step of the application, and why it was refused if it was."""

    label: str
    state: StepState
    refusal_reason: str | None = None

    @property
    def state_label(self) -> str:
        """The state in words."""
        return str(STEP_STATE_LABELS[self.state])

    @property
    def is_current(self) -> bool:
        """Whether the application is at this step now."""
        return self.state is StepState.CURRENT

    @property
    def is_refused(self) -> bool:
        """Whether the application was refused at this step."""
        return self.state is StepState.REFUSED


@dataclass(frozen=True)
class SubsystemProgress:
    """Where one subsystem request stands."""

    name: str
    state: str
    state_label: str


@dataclass(frozen=True)
class Progress:
    """The whole answer of a progress look-up."""

    application_no: str
    submitted_on: date
    state_label: str
    steps: list[Step]
    waiting_for: str | None
    due_on: date | None
    overdue: bool
    subsystems: list[SubsystemProgress]


def progress_of(
    application: Application,
    calendar: WorkCalendar,
    today: date,
    review_days: int,
    left_without_manager: bool = False,
) -> Progress:
    """The steps done, the step now, who it waits for and when it is due.

    `left_without_manager`: the institution's manager application was refused, so nobody
    can decide a general user's application until the institution has a manager.
    """
    if left_without_manager:
        waiting_for, due_on = WAITING_FOR_A_MANAGER, None
    else:
        waiting_for, due_on = _waiting_for(application, calendar, review_days)
    return Progress(
        application_no=application.application_no,
        submitted_on=local_date(application.submitted_at),
        state_label=str(STATE_LABELS[application.state]),
        steps=_steps_for(application),
        waiting_for=str(waiting_for) if waiting_for else None,
        due_on=due_on,
        overdue=due_on is not None and today > due_on,
        subsystems=[
            SubsystemProgress(
                request.subsystem.name,
                request.state.value,
                str(REQUEST_STATE_LABELS[request.state]),
            )
            for request in application.account.subsystem_requests
        ],
    )


def _steps_for(application: Application) -> list[Step]:
    """The steps of this kind of application: done, current, upcoming or refused."""
    labels = [
        str(label)
        for label in (MANAGER_STEPS if application.is_manager_application else GENERAL_STEPS)
    ]
    state = application.state
    if state is ApplicationState.APPROVED:
        return [Step(label, StepState.DONE) for label in labels]
    if state is ApplicationState.REFUSED:
        steps = [
            *(Step(label, StepState.DONE) for label in labels[:DECIDING_STEP]),
            Step(labels[DECIDING_STEP], StepState.REFUSED, application.refusal_reason),
        ]
        # A refused manager may verify again (card, or a new scan): activation may still
        # come. A general user's refusal is final, so no step follows it.
        if application.is_manager_application:
            steps += [Step(label, StepState.UPCOMING) for label in labels[DECIDING_STEP + 1 :]]
        return steps
    return [Step(label, _open_step_state(i)) for i, label in enumerate(labels)]


def _open_step_state(index: int) -> StepState:
    """Where a step of an application still waiting for its decision stands."""
    if index < DECIDING_STEP:
        return StepState.DONE
    return StepState.CURRENT if index == DECIDING_STEP else StepState.UPCOMING


def _waiting_for(application: Application, calendar: WorkCalendar, review_days: int):
    """Who must act next, and by when (None when it is the applicant's own move)."""
    state = application.state
    started = local_date(application.step_started_at)
    if state is ApplicationState.AWAITING_VERIFICATION:
        return _l("申請人：請以醫事機構卡驗證，或列印申請表用印後上傳（紙本審核）"), None
    if state is ApplicationState.AWAITING_PAPER_REVIEW:
        return _l("系統服務窗口（紙本審核）"), calendar.add_working_days(started, review_days)
    if state is ApplicationState.AWAITING_MANAGER:
        return _l("貴機構的單位業務管理者"), calendar.add_working_days(started, review_days)
    return None, None
