"""The portal administrator's audit search as people read it: words, one event, a CSV file."""

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import StaffRole
from portal.audit.models import AuditEvent
from portal.audit.services import Origin, record_event
from portal.localtime import local_now
from tests import factories
from tests.functional.auth_helpers import login, login_staff
from tests.functional.helpers import text_of
from tests.functional.test_i18n import choose_english


@pytest.fixture
def admin(db_session):
    return factories.staff(StaffRole.PORTAL_ADMIN)


@pytest.fixture
def signed_in(client, admin):
    """The administrator signed in (after whatever the test did first)."""
    assert login_staff(client, admin).status_code == 303


def _event(action="staff.role_changed", **values):
    values.setdefault("subject_type", "account")
    values.setdefault("subject_id", "-")
    values.setdefault("origin", Origin("203.0.113.7", "Mozilla/5.0 (Windows NT 10.0) Edge/120"))
    event = record_event(action, **values)
    from portal.extensions import db

    db.session.flush()
    return event


def test_events_and_subjects_are_shown_in_words(client, admin, db_session):
    clinic = factories.institution(name="臺北稽核測試診所")
    person = factories.account(username="audit.words", name="林小華", institution=clinic)
    login(client, "audit.words", "Wrong*1")
    login_staff(client, admin)
    html = client.get("/admin/audit?username=audit.words").get_data(as_text=True)
    rows = text_of(html, "audit-events")
    assert "登入失敗（密碼錯誤或查無帳號）" in rows
    assert "使用者帳號 audit.words（林小華）" in rows
    assert "login.failed" not in rows and f"account {person.id}" not in rows


def test_the_kind_of_event_is_chosen_from_a_list_by_name(client, admin, signed_in):
    html = client.get("/admin/audit").get_data(as_text=True)
    assert '<select aria-describedby="action-error" aria-invalid="false" id="action"' in html
    assert '<optgroup label="登入">' in html
    assert '<option value="login">全部（登入）</option>' in html
    assert '<option value="verification.paper_approved">帳號申請紙本審核通過</option>' in html
    bad = client.get("/admin/audit?action=no.such").get_data(as_text=True)
    assert "請從清單中選擇事件種類" in text_of(bad, "action-error")


def test_a_kind_finds_its_actions_and_one_action_only_itself(client, admin, signed_in, db_session):
    _event("login.locked", subject_id=str(admin.id))
    kind = text_of(client.get("/admin/audit?action=login").get_data(as_text=True), "audit-events")
    assert "登入成功" in kind and "帳號暫時鎖定" in kind
    one = client.get("/admin/audit?action=login.locked").get_data(as_text=True)
    assert "帳號暫時鎖定" in text_of(one, "audit-events")
    assert "登入成功" not in text_of(one, "audit-events")


def test_an_inverted_date_range_is_said_to_be_inverted(client, admin, signed_in):
    today = local_now().date()
    response = client.get(f"/admin/audit?date_from={today}&date_to={today - timedelta(days=3)}")
    html = response.get_data(as_text=True)
    assert "起日晚於迄日" in text_of(html, "date_from-error")
    assert "日期範圍顛倒" in text_of(html, "date_to-error")
    assert 'aria-invalid="true" id="date_to"' in html
    rows = text_of(html, "audit-events")
    assert "沒有符合的紀錄" not in rows and "搜尋條件有誤" in rows
    same_day = client.get(f"/admin/audit?date_from={today}&date_to={today}").get_data(as_text=True)
    assert text_of(same_day, "date_to-error") == ""


def test_the_events_page_in_english(client, admin, signed_in):
    choose_english(client)
    html = client.get("/admin/audit?action=login").get_data(as_text=True)
    assert "Signed in" in text_of(html, "audit-events")


def test_one_event_in_full(client, admin, signed_in, db_session):
    clinic = factories.institution(name="花蓮稽核測試衛生所")
    person = factories.account(username="audit.detail", name="王大明", institution=clinic)
    event = _event(
        subject_id=str(person.id),
        actor_account_id=admin.id,
        institution_id=clinic.id,
        detail={
            "before": {"role": "help_desk", "subsystems": [], "active": True},
            "after": {"role": "subsystem_admin", "subsystems": ["cessation"], "active": False},
        },
    )
    search = client.get("/admin/audit?username=audit.detail").get_data(as_text=True)
    link = f"/admin/audit/{event.id}?username=audit.detail"
    assert f'href="{link}"' in search
    html = client.get(link).get_data(as_text=True)
    assert "變更工作人員角色" in text_of(html, "audit-action")
    assert text_of(html, "audit-actor") == f"{admin.username}（{admin.name}）"
    assert text_of(html, "audit-subject") == "使用者帳號 audit.detail（王大明）"
    assert clinic.code in text_of(html, "audit-institution")
    assert text_of(html, "audit-address") == "203.0.113.7"
    assert "Edge/120" in text_of(html, "audit-user-agent")
    taipei = event.occurred_at.astimezone(local_now().tzinfo).strftime("%Y-%m-%d %H:%M:%S")
    assert text_of(html, "audit-time") == f"{taipei}（臺北時間）"
    detail = text_of(html, "audit-detail")
    assert "變更前 角色 系統服務窗口（審核人員） 子系統 — 帳號使用中 是" in detail
    assert "變更後 角色 子系統管理者 子系統 cessation 帳號使用中 否" in detail
    assert 'href="/admin/audit?username=audit.detail"' in html  # back to the same search


def test_an_event_that_does_not_exist(client, admin, signed_in):
    assert client.get("/admin/audit/999999999").status_code == 404


def _rows(response) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads it as UTF-8
    text = body.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.reader(io.StringIO(text)))


FORMULA = '=HYPERLINK("http://evil.example","x")'


def test_csv_export_of_a_search(client, admin, db_session):
    clinic = factories.institution(name="高雄匯出測試診所")
    factories.account(username="audit.csv", name="陳美玲", institution=clinic)
    login(client, "audit.csv", "Wrong*1")
    # A browser can send any User-Agent: one that is a formula must reach Excel as text.
    client.environ_base["HTTP_USER_AGENT"] = FORMULA
    login(client, "-no.such.name", "Wrong*1")
    client.environ_base.pop("HTTP_USER_AGENT")
    login_staff(client, admin)
    today = local_now().date()
    response = client.get(f"/admin/audit/export.csv?action=login.failed&date_from={today}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="audit-events_{today}_{today}.csv"'
    )
    header, *rows = _rows(response)
    assert header[:3] == ["時間（臺北時間）", "事件", "事件代碼"]
    assert {row[2] for row in rows} == {"login.failed"}  # the same filter as the page
    mine = next(row for row in rows if row[3] == "audit.csv")
    assert mine[1] == "登入失敗（密碼錯誤或查無帳號）"
    assert mine[4:9] == [
        "陳美玲",
        "使用者帳號",
        "audit.csv（陳美玲）",
        clinic.code,
        "高雄匯出測試診所",
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", mine[0])
    assert mine[11] == "原因：password"
    typed = next(row for row in rows if FORMULA in row[10])
    assert typed[10] == "'" + FORMULA
    assert typed[11] == "輸入的帳號：-no.such.name；原因：unknown"
    assert not any(cell.startswith("=") for row in rows for cell in row)


def test_the_export_is_itself_recorded(client, admin, signed_in, db_session):
    client.get("/admin/audit/export.csv?institution_code=3501200000")
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.exported"))
    assert event.actor_account_id == admin.id
    assert event.detail == {"filters": {"institution_code": "3501200000"}}
    html = client.get(f"/admin/audit/{event.id}").get_data(as_text=True)
    assert "匯出稽核紀錄" in text_of(html, "audit-action")
    assert "搜尋條件 機構代碼 3501200000" in text_of(html, "audit-detail")


def test_csv_export_without_dates_is_named_by_the_day(client, admin, signed_in):
    response = client.get("/admin/audit/export.csv")
    today = local_now().date()
    assert f'filename="audit-events_until_{today}.csv"' in response.headers["Content-Disposition"]


def test_csv_export_with_an_inverted_range_goes_back_to_the_search(
    client, admin, signed_in, db_session
):
    response = client.get("/admin/audit/export.csv?date_from=2026-03-10&date_to=2026-03-01")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "日期範圍顛倒" in text_of(html, "date_to-error")
    assert (
        db_session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.exported")) is None
    )


def test_csv_export_in_english(client, admin, signed_in):
    choose_english(client)
    header, *rows = _rows(client.get("/admin/audit/export.csv?action=login.succeeded"))
    assert header[:2] == ["Time (Taipei)", "Event"]
    assert rows and rows[0][1] == "Signed in"
