"""Where a manager change stands: its steps, who it waits for, and its due date."""

from dataclasses import dataclass
from datetime import date

from flask import current_app

from portal.changes.labels import STATE_LABELS
from portal.changes.models import ChangeState, ManagerChange
from portal.i18n import lazy_gettext as _l
from portal.localtime import local_date, local_now
from portal.workcalendar.services import current_calendar

STEP_LABELS = (_l("送出異動申請"), _l("機構驗證（醫事機構卡或紙本審核）"), _l("異動生效"))


@dataclass(frozen=True)
class ChangeStep:
    """One step; state is "done", "current", "refused" or "upcoming"."""

    label: str
    state: str


@dataclass(frozen=True)
class ChangeProgress:
    """What 申請進度查詢 and 我的帳號 show of a change."""

    number: str
    submitted_on: date
    state_label: str
    steps: list[ChangeStep]
    waiting_for: str | None
    due_on: date | None
    overdue: bool
    refusal_reason: str | None


# The step each state stands at, and how that step is drawn.
_CURRENT = {
    ChangeState.AWAITING_VERIFICATION: (1, "current"),
    ChangeState.AWAITING_PAPER_REVIEW: (1, "current"),
    ChangeState.REFUSED: (1, "refused"),
    ChangeState.WITHDRAWN: (1, "refused"),
    ChangeState.APPROVED: (3, "done"),
}


def change_progress(change: ManagerChange, today: date | None = None) -> ChangeProgress:
    """The steps done, the step now (a refusal drawn as refused, never as done), and when
    the help desk is due to decide."""
    today = today or local_now().date()
    at, drawn = _CURRENT[change.state]
    steps = [
        ChangeStep(str(label), "done" if i < at else drawn if i == at else "upcoming")
        for i, label in enumerate(STEP_LABELS)
    ]
    waiting_for, due_on = None, None
    if change.state is ChangeState.AWAITING_VERIFICATION:
        waiting_for = _l("申請人：請以醫事機構卡驗證，或列印申請表用印後上傳（紙本審核）")
    elif change.state is ChangeState.REFUSED:
        waiting_for = _l("申請人：請依原因修正後重新上傳，或撤回申請")
    elif change.state is ChangeState.AWAITING_PAPER_REVIEW:
        waiting_for = _l("系統服務窗口（紙本審核）")
        due_on = current_calendar().add_working_days(
            local_date(change.step_started_at), current_app.config["REVIEW_WORKING_DAYS"]
        )
    return ChangeProgress(
        number=change.change_no,
        submitted_on=local_date(change.submitted_at),
        state_label=str(STATE_LABELS[change.state]),
        steps=steps,
        waiting_for=str(waiting_for) if waiting_for else None,
        due_on=due_on,
        overdue=due_on is not None and today > due_on,
        refusal_reason=change.refusal_reason if change.state is ChangeState.REFUSED else None,
    )
