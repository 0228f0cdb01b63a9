"""Single sign-on in Chromium: the portal and the demo 戒菸服務系統, both live on loopback."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.oidc_stack import Sso, sso_stack

pytestmark = pytest.mark.browser


@pytest.fixture
def sso(fresh_database, smtp_sink, tmp_path) -> Iterator[Sso]:
    """A live portal and the demo relying party registered with it."""
    with sso_stack(fresh_database, smtp_sink.port, tmp_path) as stack:
        yield stack


def _sign_in_form(page: Page, username: str) -> None:
    page.get_by_label("帳號").fill(username)
    page.get_by_label("密碼").fill(factories.STRONG_PASSWORD)
    page.get_by_role("button", name="登入", exact=True).click()


def test_open_the_cessation_system_from_my_subsystems(sso: Sso, page: Page, artifacts, axe_check):
    page.goto(f"{sso.portal_url}/login")
    _sign_in_form(page, sso.username)
    expect(page).to_have_url(f"{sso.portal_url}/account")
    section = page.locator("#my-subsystems")
    expect(section.get_by_role("heading", name="我的子系統")).to_be_visible()
    axe_check(page, "我的子系統")
    page.screenshot(path=artifacts / "sso-my-subsystems.png", full_page=True)

    section.get_by_role("link", name="開啟").click()
    expect(page).to_have_url(f"{sso.rp_url}/")
    expect(page.locator("#welcome")).to_have_text("歡迎，林小美")
    expect(page.locator("#institution")).to_contain_text("測試診所")
    page.screenshot(path=artifacts / "sso-rp-signed-in.png", full_page=True)

    # Signing out at the subsystem signs out of the portal too.
    page.get_by_role("button", name="登出").click()
    expect(page).to_have_url(re.compile(re.escape(f"{sso.rp_url}/signed-out")))
    page.goto(f"{sso.portal_url}/account")
    expect(page).to_have_url(re.compile(re.escape(f"{sso.portal_url}/login")))


def test_start_at_the_subsystem_and_portal_sign_out_reaches_it(sso: Sso, page: Page):
    page.goto(f"{sso.rp_url}/records")
    expect(page).to_have_url(re.compile(re.escape(f"{sso.portal_url}/login?next=")))
    # The sign-in form's answer leads on to the subsystem (the CSP allows that redirect).
    _sign_in_form(page, sso.username)
    expect(page).to_have_url(f"{sso.rp_url}/records")
    expect(page.locator("#records")).to_be_visible()

    page.goto(f"{sso.portal_url}/account")
    page.locator("#main-nav").get_by_role("button", name="登出").click()
    expect(page.locator("p.flash")).to_have_text("您已登出。")
    # The portal's worker tells the subsystem (back-channel logout) within moments.
    for _attempt in range(50):
        page.goto(f"{sso.rp_url}/")
        if page.locator("#signed-out-note").count():
            break
        page.wait_for_timeout(100)
    expect(page.locator("#signed-out-note")).to_be_visible()
