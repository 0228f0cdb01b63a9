"""申請進度查詢: the steps, who it waits for, and the due date in working days."""

import re
from datetime import UTC, datetime

import pytest

from portal.accounts.models import Role
from portal.registration.models import ApplicationState
from portal.workcalendar.models import CalendarOverride, OverrideKind
from tests import factories
from tests.functional.auth_helpers import login, post_form
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


def step_classes(html: str) -> list[str]:
    """The state of each step, as its class names it (step-done, step-refused, …)."""
    return re.findall(r'<li id="step-\d+" class="step-(\w+)"', html)


def test_a_manager_application_refused_on_paper_shows_the_refused_step(client, db_session):
    manager = factories.account(role=Role.MANAGER, national_id="B123456780")
    application = factories.application(
        manager, state=ApplicationState.REFUSED, refusal_reason="未蓋機構關防"
    )
    html = lookup(client, application.application_no, "B123456780").get_data(as_text=True)
    # Verification was refused; activation may still come after a new scan or the card.
    assert step_classes(html) == ["done", "refused", "upcoming"]
    assert "機構驗證" in text_of(html, "step-2") and "未核准" in text_of(html, "step-2")
    assert "✕" in text_of(html, "step-2")
    assert text_of(html, "refusal-reason") == "原因：未蓋機構關防"
    assert text_of(html, "application-state") == "未核准"


def test_a_general_user_refused_by_the_manager_sees_the_reason(client, db_session):
    clinic = factories.institution()
    manager = factories.active_manager(clinic)
    application = factories.application(
        factories.account(institution=clinic, national_id="F131104093")
    )
    login(client, manager.username)
    refused = post_form(
        client,
        f"/manager/applications/{application.id}",
        f"/manager/applications/{application.id}/decision",
        {"decision": "refuse", "reason": "非本機構人員"},
    )
    assert refused.status_code == 303
    db_session.expire_all()
    assert application.refusal_reason == "非本機構人員"
    assert application.decided_by_id == manager.id
    html = lookup(client, application.application_no, "F131104093").get_data(as_text=True)
    # A general user's refusal is final: no activation step follows the refused review.
    assert step_classes(html) == ["done", "refused"]
    assert "單位業務管理者審核" in text_of(html, "step-2")
    assert text_of(html, "refusal-reason") == "原因：非本機構人員"


def test_an_approved_application_has_every_step_done(client, db_session):
    application = factories.application(
        factories.account(national_id="Y135782908"), state=ApplicationState.APPROVED
    )
    html = lookup(client, application.application_no, "Y135782908").get_data(as_text=True)
    assert step_classes(html) == ["done", "done", "done"]
    assert text_of(html, "refusal-reason") is None


def test_an_open_application_is_at_its_decision_step(client, general_application):
    html = lookup(client, general_application.application_no, "F131104093").get_data(as_text=True)
    assert step_classes(html) == ["done", "current", "upcoming"]
    assert '<li id="step-2" class="step-current" aria-current="step">' in html
