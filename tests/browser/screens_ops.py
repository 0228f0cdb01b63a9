"""Screenshots of what observability changed on pages: the request id on an audit event's
page (with one, and without), and on the answer to a failure of ours (a page, and the
error banner of an HTMX request), at a desktop's and a phone's width.

Not part of the suite (the file name does not start with test_); run it on purpose:

    python -m pytest tests/browser/screens_ops.py

PNGs land in tests/artifacts/screens/ops-<name>-<width>.png.
"""

import pytest
from playwright.sync_api import Page
from werkzeug.serving import make_server

from portal.accounts.models import StaffRole
from portal.audit.services import Origin, record_event
from portal.extensions import db
from portal.observability.request_ids import request_id_set
from tests import factories
from tests.browser.screens_manager_changes import Camera
from tests.conftest import serving

pytestmark = pytest.mark.browser


def test_screens(live_app, page: Page, page_problems, artifacts):
    page_problems.expect_console_error(r"status of 500")
    page_problems.expect_console_error(r"^Response Status Error Code 500")
    live_app.config["PROPAGATE_EXCEPTIONS"] = False

    @live_app.get("/_fails")
    def fails():
        raise RuntimeError("a bug, for the screenshot")

    with live_app.app_context():
        admin = factories.staff(StaffRole.PORTAL_ADMIN, username="ops.admin")
        origin = Origin("203.0.113.7", "Mozilla/5.0 Edge/120")
        with request_id_set("3f2a9c0d5e6b4a718293a4b5c6d7e8f9"):
            with_id = record_event(
                "login.failed",
                subject_type="account",
                subject_id=admin.id,
                origin=origin,
                actor_account_id=admin.id,
            )
        without_id = record_event(
            "logout",
            subject_type="account",
            subject_id=admin.id,
            origin=origin,
            actor_account_id=admin.id,
        )
        db.session.commit()
        ids, admin_id = (with_id.id, without_id.id), admin.id
    camera = Camera(artifacts / "screens")
    with serving(make_server("127.0.0.1", 0, live_app, threaded=True)) as url:
        page.goto(f"{url}/login")
        page.fill("#username", "ops.admin")
        page.fill("#password", factories.STRONG_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/login/second-factor")
        with live_app.app_context():
            page.fill("#code", factories.totp_code(db.session.get(type(admin), admin_id)))
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{url}/admin/audit/{ids[0]}")
        camera.shoot(page, "ops-audit-event-request-id")
        page.goto(f"{url}/admin/audit/{ids[1]}")
        camera.shoot(page, "ops-audit-event-no-request-id")
        page.goto(f"{url}/_fails")
        camera.shoot(page, "ops-500-page")
        # An HTMX request that fails: the banner says so, with the id.
        page.goto(f"{url}/")
        page.evaluate("htmx.ajax('GET', '/_fails', {target: 'main'})")
        page.wait_for_selector("#request-id")
        camera.shoot(page, "ops-500-banner")
    print("\n".join(camera.notes))
