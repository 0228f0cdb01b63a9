"""服務登入, 登出 and 忘記密碼 in a real browser, as a person would, against the live server."""

import re

import pytest
from playwright.sync_api import Page, expect

from portal.accounts.models import AccountState
from portal.extensions import db
from tests import factories

pytestmark = pytest.mark.browser

# What a person types between keys; small, so the live meter still debounces.
TYPING_DELAY_MS = 30
USERNAME = "lin.clinic07"
EMAIL = "lin@example.org"
NATIONAL_ID = "A123456789"
MASKED_NATIONAL_ID = "A12345****"
NEW_PASSWORD = "Qv7#rLp2!mZe"
RESET_LINK = re.compile(r"https?://\S+(/password/reset/\S+)")


def seed_active_account(live_app) -> None:
    """Commit an active general user with the strong test password."""
    with live_app.app_context():
        factories.account(
            state=AccountState.ACTIVE, username=USERNAME, email=EMAIL, national_id=NATIONAL_ID
        )
        db.session.commit()


def sign_in(page: Page, live_server: str, password: str) -> None:
    """Open the sign-in page, type account and password, press 登入."""
    page.goto(f"{live_server}/login")
    expect(page.get_by_role("heading", name="服務登入")).to_be_visible()
    page.get_by_label("帳號").press_sequentially(USERNAME, delay=TYPING_DELAY_MS)
    page.get_by_label("密碼").press_sequentially(password, delay=TYPING_DELAY_MS)
    page.get_by_role("button", name="登入", exact=True).click()


def test_sign_in_then_sign_out(live_server, live_app, page: Page, artifacts):
    seed_active_account(live_app)
    page.goto(f"{live_server}/login")
    page.screenshot(path=artifacts / "sign-in.png", full_page=True)

    sign_in(page, live_server, factories.STRONG_PASSWORD)
    expect(page).to_have_url(f"{live_server}/account")
    expect(page.get_by_role("heading", name="我的帳號")).to_be_visible()
    expect(page.locator("#masked-national-id")).to_have_text(MASKED_NATIONAL_ID)
    expect(page.locator("#profile")).to_contain_text(USERNAME)
    nav = page.locator("#main-nav")
    expect(nav.get_by_role("button", name="登出")).to_be_visible()
    expect(nav.get_by_role("link", name="登入", exact=True)).to_have_count(0)
    page.screenshot(path=artifacts / "account.png", full_page=True)

    nav.get_by_role("button", name="登出").click()
    expect(page).to_have_url(f"{live_server}/")
    expect(page.locator("p.flash")).to_have_text("您已登出。")
    expect(nav.get_by_role("link", name="登入", exact=True)).to_be_visible()
    expect(nav.get_by_role("button", name="登出")).to_have_count(0)

    # The session really ended: the account page sends the person back to sign in.
    page.goto(f"{live_server}/account")
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server)}/login(\?|$)"))
    expect(page.get_by_role("heading", name="服務登入")).to_be_visible()


def test_wrong_password_is_refused_and_the_account_name_kept(
    live_server, live_app, page: Page, page_problems
):
    seed_active_account(live_app)
    page_problems.expect_console_error(r"status of 401 .*/login\)$")

    sign_in(page, live_server, "Wrong*pass9x")
    expect(page.locator("#login-error")).to_have_text("帳號或密碼錯誤。")
    expect(page.get_by_label("帳號")).to_have_value(USERNAME)
    expect(page.get_by_label("密碼")).to_have_value("")
    expect(page).to_have_url(f"{live_server}/login")
    expect(page.locator("#main-nav").get_by_role("button", name="登出")).to_have_count(0)


def test_forgotten_password_reset_by_e_mailed_link(
    live_server, live_app, page: Page, page_problems, smtp_sink, artifacts, axe_check
):
    seed_active_account(live_app)
    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="忘記密碼").click()
    expect(page).to_have_url(f"{live_server}/password/forgot")
    expect(page.get_by_role("heading", name="忘記密碼")).to_be_visible()
    page.get_by_label("帳號").press_sequentially(USERNAME, delay=TYPING_DELAY_MS)
    page.get_by_label("電子郵件").fill(EMAIL)
    page.get_by_role("button", name="寄送重設連結").click()
    expect(page.locator("#forgot-result")).to_contain_text("重設密碼的連結")
    axe_check(page, "the reset link sent")

    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == EMAIL
    match = RESET_LINK.search(mail.get_content())
    assert match, mail.get_content()
    # Open the path on the live server, whatever scheme and host the e-mail names.
    link = f"{live_server}{match.group(1)}"

    page.goto(link)
    expect(page.get_by_role("heading", name="設定新密碼")).to_be_visible()
    password = page.locator("#password")
    strength = page.locator("#password-strength")
    expect(strength).to_have_text("（尚未輸入）")
    password.press_sequentially(NEW_PASSWORD[:3], delay=TYPING_DELAY_MS)
    expect(strength).to_have_text("不符合規則")
    password.press_sequentially(NEW_PASSWORD[3:], delay=TYPING_DELAY_MS)
    expect(strength).to_have_text("強")
    expect(page.locator("#password-meter li.unmet")).to_have_count(0)
    page.locator("#password_confirm").press_sequentially(NEW_PASSWORD, delay=TYPING_DELAY_MS)
    axe_check(page, "a new password typed (the meter swapped)")
    page.screenshot(path=artifacts / "reset-password.png", full_page=True)
    page.get_by_role("button", name="更新密碼").click()

    expect(page).to_have_url(f"{live_server}/login")
    expect(page.locator("p.flash")).to_contain_text("密碼已更新")
    smtp_sink.wait_for(2)  # and the 您的密碼已變更 notice

    sign_in(page, live_server, NEW_PASSWORD)
    expect(page).to_have_url(f"{live_server}/account")
    expect(page.locator("#masked-national-id")).to_have_text(MASKED_NATIONAL_ID)

    # The link worked once; now it is spent.
    page_problems.expect_console_error(r"status of 410 .*/password/reset/")
    page.goto(link)
    expect(page.locator("#reset-error")).to_be_visible()
    expect(page.locator("#reset-error")).not_to_be_empty()
    axe_check(page, "a spent link")
