"""工作日曆: closures (typhoon days) and extra workdays in the browser, the due dates they
move shown before saving, and each change audited."""

from datetime import date, datetime

import pytest
from sqlalchemy import select

from portal.accounts.models import AccountState, Role, StaffRole
from portal.audit.models import AuditEvent
from portal.changes.models import (
    ChangeAction,
    ChangeKind,
    ChangeState,
    ManagerChange,
    ManagerChangeItem,
)
from portal.extensions import db
from portal.localtime import TAIPEI
from portal.registration.models import ApplicationState
from portal.workcalendar.models import CalendarOverride, OverrideKind
from tests import factories
from tests.functional.auth_helpers import login_staff, post_form
from tests.functional.helpers import text_of

# A plain week: Monday 2026-08-31 to Friday 2026-09-04, no holiday; reviews take 3 working days.
TYPHOON_DAY = "2026-09-01"


def taipei(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=TAIPEI)


@pytest.fixture
def admin(client):
    account = factories.staff(StaffRole.PORTAL_ADMIN)
    login_staff(client, account)
    return account


@pytest.fixture
def waiting(db_session):
    """Open items begun on different days, and two that cannot move; their numbers."""
    clinic = factories.institution(name="颱風測試診所")
    manager = factories.account(institution=clinic, role=Role.MANAGER, national_id="B123456780")
    paper = factories.application(
        manager,
        state=ApplicationState.AWAITING_PAPER_REVIEW,
        step_started_at=taipei("2026-08-31"),  # due Thu 09-03, then Fri 09-04
    )
    general = factories.application(
        factories.account(institution=clinic),
        step_started_at=taipei("2026-08-27"),  # due Tue 09-01, then Wed 09-02
    )
    factories.application(
        factories.account(institution=clinic),
        step_started_at=taipei("2026-08-26"),  # due Mon 08-31: before the closure
    )
    factories.application(
        factories.account(institution=clinic),
        step_started_at=taipei(TYPHOON_DAY, 9),  # begun that day: counts from the next
    )
    factories.application(
        factories.account(institution=clinic),
        state=ApplicationState.APPROVED,
        step_started_at=taipei("2026-08-31"),  # decided: no due date
    )
    filer = factories.account(institution=clinic, role=Role.MANAGER, state=AccountState.ACTIVE)
    change = ManagerChange(
        change_no=f"M{factories.next_number():014d}",
        institution_id=clinic.id,
        filed_by_id=filer.id,
        kind=ChangeKind.DEACTIVATE,
        state=ChangeState.AWAITING_PAPER_REVIEW,
        step_started_at=taipei("2026-08-28", 16),  # due Wed 09-02, then Thu 09-03
        items=[ManagerChangeItem(account_id=filer.id, action=ChangeAction.DEACTIVATE)],
    )
    db.session.add(change)
    db.session.flush()
    return {
        "paper": paper.application_no,
        "general": general.application_no,
        "change": change.change_no,
    }


def rows_of(html: str) -> str:
    return text_of(html, "moved-due-dates") or ""


def test_the_preview_lists_exactly_the_due_dates_a_closure_moves(client, admin, waiting):
    response = client.get(
        f"/admin/calendar/impact?day={TYPHOON_DAY}&kind=closed", headers={"HX-Request": "true"}
    )
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith("{#") or html.lstrip().startswith("<section")
    assert "<html" not in html and "HX-Request" in response.headers["Vary"]
    assert text_of(html, "impact-count") == "3 件待辦申請的期限會改變："
    table = rows_of(html)
    for number in waiting.values():
        assert number in table
    assert "2026-09-01" in table and "2026-09-04" in table and "延後" in table
    assert "系統服務窗口（紙本審核）" in table and "單位業務管理者" in table
    # Nothing was saved by looking.
    assert db.session.scalar(select(CalendarOverride)) is None

    page = client.get(f"/admin/calendar/impact?day={TYPHOON_DAY}&kind=closed")
    assert "<html" in page.get_data(as_text=True)
    assert text_of(page.get_data(as_text=True), "impact-count") == "3 件待辦申請的期限會改變："


def test_saving_a_closure_moves_the_due_dates_and_is_audited(client, admin, waiting):
    response = post_form(
        client,
        "/admin/calendar",
        "/admin/calendar",
        {"day": TYPHOON_DAY, "kind": "closed", "reason": "颱風停止上班", "action": "save"},
    )
    assert response.status_code == 303
    page = client.get("/admin/calendar").get_data(as_text=True)
    assert "已將 2026-09-01 設為停止上班。 3 件待辦申請的期限因此改變。" in page
    assert "颱風停止上班" in text_of(page, "overrides")
    override = db.session.scalar(select(CalendarOverride))
    assert (override.day, override.kind) == (date(2026, 9, 1), OverrideKind.CLOSED)
    (event,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "calendar.override_set")
    )
    assert event.subject_id == TYPHOON_DAY and event.actor_account_id == admin.id
    assert sorted(event.detail["moved"]) == sorted(waiting.values())
    assert event.detail["override"] == "closed"

    # 申請進度查詢 and the queue now count around the closure.
    from portal.workcalendar.services import current_calendar

    assert current_calendar().add_working_days(date(2026, 8, 31), 3) == date(2026, 9, 4)


def test_an_extra_workday_moves_due_dates_earlier(client, admin, db_session):
    factories.application(step_started_at=taipei("2026-09-03"))  # due Tue 09-08
    html = client.get("/admin/calendar/impact?day=2026-09-05&kind=working").get_data(as_text=True)
    table = rows_of(html)
    assert "2026-09-08" in table and "2026-09-07" in table and "提前" in table


@pytest.mark.parametrize("query", ["day=2026-09-01&kind=holiday", "day=2026-02-30&kind=closed", ""])
def test_a_preview_of_something_unsaveable_answers_with_the_hint(client, admin, query):
    fragment = client.get(f"/admin/calendar/impact?{query}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "選擇日期與類別後" in fragment.get_data(as_text=True)


def test_a_closure_on_a_day_off_moves_nothing_and_says_why(client, admin, waiting):
    html = client.get("/admin/calendar/impact?day=2026-09-06&kind=closed").get_data(as_text=True)
    assert text_of(html, "impact-no-change") == "這一天原本就是不上班的日子，設定後期限不變。"
    assert text_of(html, "moved-due-dates") is None


def test_the_same_day_again_replaces_it_and_removing_gives_it_back(client, admin, waiting):
    for kind, reason in (("closed", "颱風"), ("working", "改為補行上班")):
        post_form(
            client,
            "/admin/calendar",
            "/admin/calendar",
            {"day": TYPHOON_DAY, "kind": kind, "reason": reason, "action": "save"},
        )
    (override,) = db.session.scalars(select(CalendarOverride))
    assert (override.kind, override.reason) == (OverrideKind.WORKING, "改為補行上班")
    last = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "calendar.override_set")
        .order_by(AuditEvent.id)
    ).all()[-1]
    assert (
        last.detail["before"]["override"] == "closed"
        and last.detail["after"]["override"] == "working"
    )

    post_form(
        client,
        "/admin/calendar",
        "/admin/calendar",
        {"day": TYPHOON_DAY, "kind": "closed", "reason": "颱風", "action": "save"},
    )
    override = db.session.scalar(select(CalendarOverride))
    response = post_form(client, "/admin/calendar", f"/admin/calendar/{override.id}/delete", {})
    assert response.status_code == 303
    page = client.get("/admin/calendar").get_data(as_text=True)
    assert "已刪除 2026-09-01 的例外" in page and "3 件待辦申請的期限因此改變。" in page
    assert db.session.scalar(select(CalendarOverride)) is None
    (removed,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "calendar.override_removed")
    )
    assert sorted(removed.detail["moved"]) == sorted(waiting.values())
    # Removing it twice (another administrator first) is a plain 404.
    again = post_form(client, "/admin/calendar", f"/admin/calendar/{override.id}/delete", {})
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("typed", "field", "message"),
    [
        ({"day": "", "kind": "closed", "reason": "颱風"}, "day", "請輸入日期（例：2026-09-01）。"),
        ({"day": "2026-02-30", "kind": "closed", "reason": "颱風"}, "day", "不是有效的日期值。"),
        (
            {"day": "1899-09-01", "kind": "closed", "reason": "颱風"},
            "day",
            "請輸入 2000-01-01 至 2099-12-31 之間的日期。",
        ),
        ({"day": TYPHOON_DAY, "reason": "颱風"}, "kind", "請選擇停止上班或補行上班。"),
        (
            {"day": TYPHOON_DAY, "kind": "holiday", "reason": "颱風"},
            "kind",
            "請選擇停止上班或補行上班。",
        ),
        (
            {"day": TYPHOON_DAY, "kind": "closed", "reason": ""},
            "reason",
            "請輸入原因（例：颱風停止上班）。",
        ),
        (
            {"day": TYPHOON_DAY, "kind": "closed", "reason": "風" * 201},
            "reason",
            "原因最多 200 個字。",
        ),
    ],
)
def test_mistakes_are_said_next_to_the_field_and_nothing_saved(
    client, admin, typed, field, message
):
    response = post_form(client, "/admin/calendar", "/admin/calendar", {**typed, "action": "save"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert text_of(page, f"{field}-error") == message
    if typed.get("reason"):
        assert typed["reason"][:10] in page
    assert db.session.scalar(select(CalendarOverride)) is None


def test_preview_without_javascript_shows_the_moves_on_the_page(client, admin, waiting):
    response = post_form(
        client,
        "/admin/calendar",
        "/admin/calendar",
        {"day": TYPHOON_DAY, "kind": "closed", "reason": "", "action": "preview"},
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert text_of(html, "impact-count") == "3 件待辦申請的期限會改變："
    assert text_of(html, "reason-error") is None or text_of(html, "reason-error") == ""
    assert db.session.scalar(select(CalendarOverride)) is None


def test_the_command_line_is_audited_and_prints_the_moves(live_app):
    result = live_app.test_cli_runner().invoke(
        args=["calendar-override", TYPHOON_DAY, "closed", "--reason", "颱風停止上班"]
    )
    assert result.exit_code == 0, result.output
    assert "2026-09-01: closed (颱風停止上班)" in result.output
    with live_app.app_context():
        (event,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "calendar.override_set")
        )
        assert event.remote_addr == "cli" and event.detail["moved"] == []
