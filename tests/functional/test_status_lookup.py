"""申請進度查詢: the steps, who it waits for, and the due date in working days."""

from datetime import UTC, datetime

import pytest

from portal.accounts.models import Role
from portal.registration.models import ApplicationState
from portal.workcalendar.models import CalendarOverride, OverrideKind
from tests import factories
from tests.functional.helpers import csrf_token, text_of

HX = {"HX-Request": "true"}
# Friday 2026-11-20, 10:00 in Taipei.
FRIDAY_MORNING = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def lookup(client, application_no, national_id, hx=True):
    token = csrf_token(client.get("/applications/status").get_data(as_text=True))
    data = {"csrf_token": token, "application_no": application_no, "national_id": national_id}
    return client.post("/applications/status", data=data, headers=HX if hx else {})


@pytest.fixture
def general_application(db_session):
    account = factories.account(national_id="F131104093")
    return factories.application(account, step_started_at=FRIDAY_MORNING)


def test_general_user_waits_for_manager_three_working_days(client, general_application):
    response = lookup(client, general_application.application_no, "f131104093")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="status-lookup"')
    assert "單位業務管理者" in text_of(html, "waiting-for")
    # Fri 2026-11-20 + 3 working days = Wed 2026-11-25.
    assert text_of(html, "due-on").startswith("2026-11-25")
    assert 'aria-current="step"' in html


def test_due_date_skips_a_typhoon_closure(client, general_application, db_session):
    db_session.add(
        CalendarOverride(day=datetime(2026, 11, 24).date(), kind=OverrideKind.CLOSED, reason="颱風")
    )
    db_session.flush()
    html = lookup(client, general_application.application_no, "F131104093").get_data(as_text=True)
    assert text_of(html, "due-on").startswith("2026-11-26")


def test_overdue_is_marked(client, db_session):
    application = factories.application(
        factories.account(national_id="A234567893"),
        step_started_at=datetime(2020, 1, 2, tzinfo=UTC),
    )
    html = lookup(client, application.application_no, "A234567893").get_data(as_text=True)
    assert "已逾期" in html


def test_manager_application_waits_for_the_applicant(client, db_session):
    manager = factories.account(role=Role.MANAGER, national_id="B123456780")
    application = factories.application(manager)
    assert application.state is ApplicationState.AWAITING_VERIFICATION
    html = lookup(client, application.application_no, "B123456780").get_data(as_text=True)
    assert "醫事機構卡" in text_of(html, "waiting-for")
    assert text_of(html, "due-on") is None


def test_wrong_combination_gets_one_neutral_message(client, general_application):
    wrong_id = lookup(client, general_application.application_no, "A123456789")
    wrong_no = lookup(client, "20261120000000", "F131104093")
    for response in (wrong_id, wrong_no):
        assert response.status_code == 404
        assert "查無符合的申請" in text_of(response.get_data(as_text=True), "status-error")
    assert text_of(wrong_id.get_data(as_text=True), "status-error") == text_of(
        wrong_no.get_data(as_text=True), "status-error"
    )


def test_full_page_without_javascript(client, general_application):
    response = lookup(client, general_application.application_no, "F131104093", hx=False)
    html = response.get_data(as_text=True)
    assert "<html" in html and text_of(html, "status-result")
    assert "HX-Request" in response.headers["Vary"]


def test_format_errors_next_to_fields(client, db_session):
    response = lookup(client, "123", "A123")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "14 位數字" in text_of(html, "application_no-error")
    assert "格式不正確" in text_of(html, "national_id-error")
    assert 'value="123"' in html


def test_status_lookup_is_rate_limited(app, client, general_application):
    app.config["RATELIMIT_STATUS_LOOKUP"] = "3 per minute"
    try:
        codes = [lookup(client, "20261120000000", "F131104093").status_code for _ in range(4)]
    finally:
        app.config["RATELIMIT_STATUS_LOOKUP"] = "10 per minute;50 per day"
    assert codes[:3] == [404, 404, 404]
    assert codes[3] == 429
