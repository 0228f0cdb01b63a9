"""Screenshots of the pages the error banner, error summaries, navigation marks and phone
layout changed, at a desktop's and a phone's width, in their normal and error states.

Not part of the suite (the file name does not start with test_); run it on purpose:

    python -m pytest tests/browser/screens_ux.py

Full-page PNGs land in tests/artifacts/screens/ux-<name>-<width>.png; pages wider than the
window are listed in ux-overflow.txt beside them.
"""

import pytest
from playwright.sync_api import Browser, Page, expect

from tests import factories
from tests.browser.conftest import new_profile, recording_page
from tests.browser.screens_manager_changes import WIDTHS, Camera
from tests.browser.test_phone_width import APPLICANT_ID, seed, sign_in

pytestmark = pytest.mark.browser


class UxCamera(Camera):
    """Camera, with the text caret left alone: Playwright hides it by putting a style
    attribute on inputs, which htmx then copies onto swapped-in inputs (its settle step),
    and the page's CSP refuses that, as it should."""

    def shoot(self, page: Page, name: str) -> None:
        """<name>-1280.png and <name>-390.png of the page as it is now."""
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(150)
            page.screenshot(
                path=self.folder / f"{name}-{width}.png", full_page=True, caret="initial"
            )
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                self.notes.append(f"{name}-{width}: page {scroll} px wide")
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def test_screens(card_portal_without_helper, browser: Browser, page_problems, tmp_path, artifacts):
    page_problems.expect_console_error(r"status of (4\d\d|500) ")
    page_problems.expect_console_error(r"ERR_CONNECTION_REFUSED")
    page_problems.expect_console_error(r"^Response Status Error Code 500")
    portal = card_portal_without_helper
    url = portal.url
    people = seed(portal.app, tmp_path / "uploads")
    camera = UxCamera(artifacts / "screens")

    def person() -> Page:
        return recording_page(new_profile(browser, width=1280), page_problems)

    def shoot(page: Page, name: str) -> None:
        camera.shoot(page, f"ux-{name}")

    visitor = person()
    # 申請進度查詢: empty, refused, not found, too many (the banner), found.
    visitor.goto(f"{url}/applications/status")
    shoot(visitor, "status")
    visitor.get_by_role("button", name="查詢").click()
    expect(visitor.locator(".error-summary")).to_be_visible()
    shoot(visitor, "status-refused")
    visitor.get_by_label("申請編號").fill("12345678901234")
    visitor.get_by_label("身分證字號").fill("A123456789")
    visitor.get_by_role("button", name="查詢").click()
    expect(visitor.locator("#status-error")).to_be_visible()
    shoot(visitor, "status-not-found")
    portal.app.config["RATELIMIT_STATUS_LOOKUP"] = "1 per minute"
    for _ in range(2):
        visitor.get_by_role("button", name="查詢").click()
        visitor.wait_for_timeout(300)
    expect(visitor.locator("#request-error")).not_to_be_empty()
    shoot(visitor, "status-too-many")
    portal.app.config["RATELIMIT_STATUS_LOOKUP"] = "100 per minute"
    visitor.get_by_label("申請編號").fill(people["application_no"])
    visitor.get_by_label("身分證字號").fill(APPLICANT_ID)
    visitor.get_by_role("button", name="查詢").click()
    expect(visitor.locator("#status-result")).to_be_visible()
    shoot(visitor, "status-found")
    visitor.get_by_role("link", name="以醫事機構卡驗證").click()
    expect(visitor.locator("#helper-download")).to_be_visible()
    shoot(visitor, "card-helper-missing")

    # 帳號申請: blank, refused (summary, cleared password), a server failure in the banner.
    visitor.goto(f"{url}/register")
    shoot(visitor, "register")
    visitor.locator("#username").fill("chen.clinic01")
    visitor.locator("#password").fill(factories.STRONG_PASSWORD)
    visitor.locator("#email").fill("chen@")
    visitor.get_by_role("button", name="送出申請").click()
    expect(visitor.locator(".error-summary")).to_be_focused()
    shoot(visitor, "register-refused")
    visitor.route(
        "**/institutions/search?*", lambda route: route.fulfill(status=500, body="failed")
    )
    visitor.locator("#institution_code").press_sequentially("北投", delay=30)
    expect(visitor.locator("#request-error")).not_to_be_empty()
    shoot(visitor, "register-server-failed")
    visitor.unroute("**/institutions/search?*")

    # 服務登入 and 忘記密碼, refused.
    visitor.goto(f"{url}/login")
    visitor.get_by_label("帳號").fill(people["general"][0])
    visitor.get_by_label("密碼").fill("Wrong*pass9x")
    visitor.get_by_role("button", name="登入", exact=True).click()
    expect(visitor.locator("#login-error")).to_be_visible()
    shoot(visitor, "login-refused")
    visitor.goto(f"{url}/password/forgot")
    visitor.get_by_role("button", name="寄送重設連結").click()
    shoot(visitor, "forgot-refused")

    # The same refusal in English, and English kept after signing in.
    visitor.get_by_role("link", name="English").click()
    visitor.goto(f"{url}/register")
    visitor.locator("#password").fill(factories.STRONG_PASSWORD)
    visitor.get_by_role("button", name="Submit application").click()
    shoot(visitor, "en-register-refused")
    visitor.goto(f"{url}/login")
    visitor.locator("#username").fill(people["general"][0])
    visitor.locator("#password").fill(factories.STRONG_PASSWORD)
    visitor.locator("main form button[type=submit]").click()
    expect(visitor.locator("html")).to_have_attribute("lang", "en")
    shoot(visitor, "en-account")

    # A manager: 我的帳號 refused, 本機構使用者, the filing form refused.
    manager = person()
    sign_in(manager, url, *people["manager"])
    manager.goto(f"{url}/account")
    manager.locator("#current_password").fill("Wrong*pass9x")
    manager.locator("#password").fill("Qv7#rLp2!mZe")
    manager.locator("#password_confirm").fill("Qv7#rLp2!mZe")
    manager.get_by_role("button", name="變更密碼").click()
    expect(manager.locator(".error-summary")).to_be_focused()
    shoot(manager, "account-password-refused")
    manager.goto(f"{url}/manager/users")
    shoot(manager, "manager-users")
    manager.get_by_role("row", name="李護理").get_by_role("link", name="停用").click()
    expect(manager.get_by_label("停用原因")).to_be_visible()
    manager.get_by_role("button", name="確認停用").click()
    shoot(manager, "manager-deactivate-refused")
    manager.goto(f"{url}/manager/applications")
    shoot(manager, "manager-applications")
    manager.goto(f"{url}/manager-changes/new")
    manager.get_by_role("button", name="送出異動申請").click()
    shoot(manager, "change-new-refused")

    # Staff: the queue, a subsystem's requests, the staff list, a refused new staff, audit.
    desk = person()
    sign_in(desk, url, *people["help_desk"])
    desk.goto(f"{url}/review")
    shoot(desk, "review-queue")
    subsystem_admin = person()
    sign_in(subsystem_admin, url, *people["subsystem_admin"])
    subsystem_admin.goto(f"{url}/subsystem-admin/requests")
    shoot(subsystem_admin, "subsystem-requests")
    admin = person()
    sign_in(admin, url, *people["portal_admin"])
    admin.goto(f"{url}/admin/staff")
    shoot(admin, "admin-staff")
    admin.goto(f"{url}/admin/staff/new")
    admin.get_by_role("button", name="建立並寄出設定密碼連結").click()
    shoot(admin, "admin-staff-new-refused")
    admin.goto(f"{url}/admin/audit")
    shoot(admin, "admin-audit")
    (camera.folder / "ux-overflow.txt").write_text("\n".join(camera.notes) + "\n")
