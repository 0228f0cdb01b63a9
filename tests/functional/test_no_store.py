"""Nothing shown to a signed-in person is kept by the browser or a proxy (Cache-Control).

The back button on a shared clinic PC, or a proxy's cache, must not show someone's account,
their applicants or a revealed ID number to the next person.
"""

from datetime import UTC, datetime

from portal.accounts.models import AccountState, Role, StaffRole
from portal.registration.models import ApplicationState
from tests import factories
from tests.functional.auth_helpers import login, login_staff
from tests.functional.helpers import csrf_token

HX = {"HX-Request": "true"}


def assert_not_stored(response) -> None:
    assert response.status_code in (200, 204, 303), response.status_code
    assert response.headers.get("Cache-Control") == "no-store", response.request.path


def test_a_managers_pages_and_fragments_are_not_stored(client, db_session):
    clinic = factories.institution()
    manager = factories.active_manager(clinic)
    general = factories.account(institution=clinic, state=AccountState.ACTIVE)
    factories.application(factories.account(institution=clinic))
    assert_not_stored(login(client, manager.username))
    for path in ("/account", "/manager/applications", "/manager/users", "/manager-changes"):
        assert_not_stored(client.get(path))
    assert_not_stored(client.get(f"/manager/users/{general.id}/deactivate", headers=HX))
    token = csrf_token(client.get("/account").get_data(as_text=True))
    meter = client.post(
        "/password/strength", data={"password": "abc"}, headers={**HX, "X-CSRFToken": token}
    )
    assert_not_stored(meter)


def test_the_revealed_id_number_and_the_review_queue_are_not_stored(client, db_session):
    reviewer = factories.staff(StaffRole.HELP_DESK)
    manager = factories.account(role=Role.MANAGER, national_id="B123456780")
    application = factories.application(
        manager, state=ApplicationState.AWAITING_PAPER_REVIEW, step_started_at=datetime.now(UTC)
    )
    factories.paper_scan(application)
    assert_not_stored(login_staff(client, reviewer))
    assert_not_stored(client.get("/review"))
    assert_not_stored(client.get("/review", headers=HX))
    page = client.get(f"/review/{application.id}")
    assert_not_stored(page)
    revealed = client.post(
        f"/review/{application.id}/national-id",
        headers={**HX, "X-CSRFToken": csrf_token(page.get_data(as_text=True))},
    )
    assert "B123456780" in revealed.get_data(as_text=True)
    assert_not_stored(revealed)


def test_the_second_factor_enrolment_and_its_secret_are_not_stored(client, db_session):
    person = factories.staff(
        StaffRole.HELP_DESK, totp_secret_encrypted=None, totp_confirmed_at=None
    )
    login(client, person.username)
    enrolment = client.get("/login/second-factor")
    assert 'id="totp-secret"' in enrolment.get_data(as_text=True)
    assert_not_stored(enrolment)


def test_public_pages_and_files_may_still_be_cached_by_everyone_else(client, db_session):
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    blank_form = client.get("/downloads/manager-change-form.pdf")
    assert "public" in blank_form.headers["Cache-Control"]
