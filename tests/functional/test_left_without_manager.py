"""General users waiting at an institution whose manager application was refused are told so."""

import pytest

from portal.accounts.models import Role, StaffRole
from portal.registration.models import ApplicationState
from tests import factories
from tests.functional.auth_helpers import login_staff, post_form
from tests.functional.helpers import text_of
from tests.functional.test_status_lookup import lookup


@pytest.fixture
def clinic(db_session):
    return factories.institution(name="臺北虛擬診所")


@pytest.fixture
def manager_application(clinic):
    """The clinic's only manager application, its stamped scan with the help desk."""
    applicant = factories.account(institution=clinic, role=Role.MANAGER, email="boss@example.org")
    application = factories.application(applicant, state=ApplicationState.AWAITING_PAPER_REVIEW)
    factories.paper_scan(application)
    return application


@pytest.fixture
def waiting(clinic):
    """Two general users who applied while the manager application was under way."""
    return [
        factories.application(
            factories.account(institution=clinic, name=name, email=email, national_id=national_id)
        )
        for name, email, national_id in (
            ("林一", "lin1@example.org", "F131104093"),
            ("林二", "lin2@example.org", "A234567893"),
        )
    ]


def refuse(client, application, reason="關防不清楚"):
    login_staff(client, factories.staff(StaffRole.HELP_DESK))
    path = f"/review/{application.id}"
    response = post_form(client, path, f"{path}/decision", {"decision": "refuse", "reason": reason})
    assert response.status_code == 303
    return response


def test_refusing_the_only_manager_application_tells_the_general_users_waiting(
    client, manager_application, waiting, clinic, smtp_sink
):
    decided = factories.application(
        factories.account(institution=clinic, email="done@example.org"),
        state=ApplicationState.REFUSED,
    )
    elsewhere = factories.application(factories.account(email="other@example.org"))
    refuse(client, manager_application)
    messages = smtp_sink.wait_for(3)
    recipients = sorted(message["To"] for message in messages)
    assert recipients == ["boss@example.org", "lin1@example.org", "lin2@example.org"]
    assert decided.account.email not in recipients and elsewhere.account.email not in recipients
    for application in waiting:
        [mail] = [m for m in messages if m["To"] == application.account.email]
        assert "未獲核准" in mail["Subject"] and application.application_no in mail["Subject"]
        body = mail.get_content()
        assert "單位業務管理者帳號申請未獲核准" in body
        assert "等貴機構有單位業務管理者後" in body
        assert "重新申請單位業務管理者帳號" in body
        assert "http://portal.test/applications/status" in body


def test_progress_says_why_nobody_decides_the_application(client, manager_application, waiting):
    refuse(client, manager_application)
    html = lookup(client, waiting[0].application_no, "F131104093").get_data(as_text=True)
    said = text_of(html, "waiting-for")
    assert "單位業務管理者申請未獲核准" in said and "重新申請單位業務管理者帳號" in said
    # Nobody can act, so no due date is promised.
    assert text_of(html, "due-on") is None
    assert text_of(html, "application-state") == "待單位業務管理者審核"


@pytest.mark.parametrize("has", ["active manager", "another manager application"])
def test_nobody_is_told_while_someone_can_still_decide(
    client, manager_application, waiting, clinic, smtp_sink, has
):
    if has == "active manager":
        factories.active_manager(clinic)
    else:
        factories.application(factories.account(institution=clinic, role=Role.MANAGER))
    refuse(client, manager_application)
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "boss@example.org"
    html = lookup(client, waiting[0].application_no, "F131104093").get_data(as_text=True)
    assert text_of(html, "waiting-for") == "貴機構的單位業務管理者"
    assert text_of(html, "due-on")


def test_once_the_refused_applicant_tries_again_the_usual_wait_returns(
    client, manager_application, waiting, db_session
):
    refuse(client, manager_application)
    # A new scan puts the manager application back with the help desk.
    db_session.expire_all()
    manager_application.state = ApplicationState.AWAITING_PAPER_REVIEW
    db_session.flush()
    html = lookup(client, waiting[1].application_no, "A234567893").get_data(as_text=True)
    assert text_of(html, "waiting-for") == "貴機構的單位業務管理者"
