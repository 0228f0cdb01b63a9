"""The main pages fit a 390 px phone without sideways scrolling, for every kind of person.

Each page is opened in Chromium at 390 px as the person who uses it; the document may not be
wider than the window. What overflows is named in the failure.
"""

import base64
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.accounts.models import AccountState, Role, StaffRole
from portal.audit.services import Origin, record_event
from portal.extensions import db
from portal.registration.models import ApplicationState
from portal.security.encryption import decrypt_text
from portal.subsystems.models import Subsystem, SubsystemRequest
from tests import factories
from tests.browser.conftest import new_profile, recording_page

pytestmark = pytest.mark.browser

PHONE = 390
APPLICANT_ID = "F131104093"
# A long value of the kind real data holds: the browser's full user agent, an IPv6 address.
LONG_ORIGIN = Origin(
    remote_addr="2001:db8:85a3:1234:5678:8a2e:370:7334",
    user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0",
)

ONE_PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
)

# Elements that reach past the window's right edge, outermost first, as "tag#id.class".
_OVERFLOWING = """
() => {
  const limit = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > limit + 1 && !wide.some((outer) => outer.contains(el))) {
      wide.push(el);
    }
  }
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className ? "." + el.classList[0] : "");
  return wide.map((el) => `${name(el)} (${Math.round(el.getBoundingClientRect().right)} px)`);
}
"""


def seed(app, uploads: Path) -> dict:
    """Everyone the portal serves, each with something on their pages."""
    app.config["UPLOAD_DIR"] = str(uploads)
    uploads.mkdir(exist_ok=True)
    with app.app_context():
        clinic = factories.institution(name="臺北市立聯合醫院中興院區附設預防保健門診中心")
        manager = factories.account(
            institution=clinic, role=Role.MANAGER, state=AccountState.ACTIVE, name="王大同"
        )
        factories.account(
            institution=clinic,
            state=AccountState.ACTIVE,
            name="李護理",
            username="lee.nurse.preventive-care.dept",  # the longest an account name can be
            email="lee.nurse.preventive-care.department@very-long-hospital-domain.example.org",
        )
        factories.application(factories.account(institution=clinic, name="陳申請"))
        general = factories.account(institution=clinic, state=AccountState.ACTIVE)
        cessation = db.session.scalar(select(Subsystem).where(Subsystem.code == "cessation"))
        db.session.add(SubsystemRequest(account=general, subsystem=cessation))

        applicant = factories.account(
            institution=factories.institution(), role=Role.MANAGER, national_id=APPLICANT_ID
        )
        application_no = factories.application(applicant).application_no
        on_paper = factories.application(
            factories.account(role=Role.MANAGER, name="黃紙本"),
            state=ApplicationState.AWAITING_PAPER_REVIEW,
            step_started_at=datetime(2026, 1, 5, 2, tzinfo=UTC),
        )
        scan = factories.paper_scan(on_paper)
        (uploads / scan.stored_name).write_bytes(ONE_PIXEL_PNG)

        staff = {
            role: factories.staff(role, ("cessation",) if role is StaffRole.SUBSYSTEM_ADMIN else ())
            for role in (StaffRole.HELP_DESK, StaffRole.SUBSYSTEM_ADMIN, StaffRole.PORTAL_ADMIN)
        }
        for action in ("application.submitted", "account.deactivated", "login.failed"):
            record_event(
                action,
                subject_type="application",
                subject_id=on_paper.id,
                origin=LONG_ORIGIN,
                actor_account_id=manager.id,
                detail={"reason": "已離職"},
            )
        db.session.commit()
        return {
            "manager": (manager.username, None),
            "general": (general.username, None),
            **{
                role.value: (account.username, decrypt_text(account.totp_secret_encrypted))
                for role, account in staff.items()
            },
            "application_no": application_no,
            "paper_review": f"/review/{on_paper.id}",
        }


def sign_in(page: Page, url: str, username: str, totp_secret: str | None) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("帳號").fill(username)
    page.get_by_label("密碼").fill(factories.STRONG_PASSWORD)
    page.get_by_role("button", name="登入", exact=True).click()
    if totp_secret:
        page.get_by_label("驗證碼").fill(pyotp.TOTP(totp_secret).now())
        page.get_by_role("button", name="驗證", exact=True).click()
    expect(page.locator("#main-nav").get_by_role("button", name="登出")).to_be_visible()


def check_fits(page: Page, url: str, path: str, too_wide: list[str]) -> None:
    """Open the page (unless `path` is None: as it is now) and note it if it is too wide."""
    if path is not None:
        page.goto(f"{url}{path}")
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE:
        where = page.url.removeprefix(url)
        too_wide.append(f"{where}: {width} px; {', '.join(page.evaluate(_OVERFLOWING))}")


def test_main_pages_fit_a_phone_for_every_role(
    card_portal_without_helper, browser: Browser, page_problems, tmp_path
):
    portal = card_portal_without_helper
    url = portal.url
    people = seed(portal.app, tmp_path / "uploads")
    # The card page asks the (absent) helper at once; the browser logs the refused fetch.
    page_problems.expect_console_error(r"ERR_CONNECTION_REFUSED.*/v1/status\)$")
    too_wide: list[str] = []

    def phone() -> Page:
        return recording_page(new_profile(browser, width=PHONE), page_problems)

    visitor = phone()
    for path in (
        "/",
        "/register",
        "/applications/status",
        "/login",
        "/password/forgot",
        "/institutions/search?q=診所",
        "/announcements",
        "/downloads",
        "/faq",
        "/guide",
        "/contact",
        "/sitemap",
        "/privacy",
        "/accessibility",
    ):
        check_fits(visitor, url, path, too_wide)

    # The applicant: progress, then the card page saying where to get the card helper.
    visitor.goto(f"{url}/applications/status")
    visitor.get_by_label("申請編號").fill(people["application_no"])
    visitor.get_by_label("身分證字號").fill(APPLICANT_ID)
    visitor.get_by_role("button", name="查詢").click()
    expect(visitor.locator("#status-result")).to_be_visible()
    check_fits(visitor, url, None, too_wide)
    visitor.get_by_role("link", name="以醫事機構卡驗證").click()
    expect(visitor.locator("#helper-download")).to_be_visible()
    check_fits(visitor, url, None, too_wide)
    check_fits(visitor, url, "/verification/paper", too_wide)
    check_fits(visitor, url, "/verification/card-helper", too_wide)

    pages = {
        "general": ("/account",),
        "manager": (
            "/account",
            "/manager/applications",
            "/manager/users",
            "/manager-changes",
            "/manager-changes/new",
        ),
        "help_desk": ("/review", people["paper_review"]),
        "subsystem_admin": ("/subsystem-admin/requests",),
        "portal_admin": (
            "/admin/staff",
            "/admin/staff/new",
            "/admin/audit",
            "/admin/content",
            "/admin/content/announcement",
            "/admin/content/announcement/new",
            "/admin/content/download/1",
        ),
    }
    for who, paths in pages.items():
        page = phone()
        sign_in(page, url, *people[who])
        for path in paths:
            check_fits(page, url, path, too_wide)
        page.context.close()

    assert not too_wide, "wider than a 390 px phone:\n" + "\n".join(too_wide)
