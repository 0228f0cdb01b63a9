"""A refused form in Chromium: focus on its error summary, links that reach the fields, and
a cleared password said next to the field."""

import pytest
from playwright.sync_api import Page, expect

from portal.accounts.models import AccountState
from portal.extensions import db
from tests import factories

pytestmark = pytest.mark.browser

TYPING_DELAY_MS = 30
CLEARED = "為了安全，請重新輸入密碼。"


def test_refused_application_focuses_the_summary_whose_links_reach_the_fields(
    live_server, page: Page, page_problems
):
    page.goto(f"{live_server}/register")
    page.locator("#username").press_sequentially("chen.clinic01", delay=TYPING_DELAY_MS)
    page.locator("#password").press_sequentially(factories.STRONG_PASSWORD, delay=TYPING_DELAY_MS)
    page.locator("#email").fill("chen@")
    page_problems.expect_console_error(r"status of 422 .*/register\)$")
    page.get_by_role("button", name="送出申請").click()

    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary.get_by_role("heading")).to_have_text("請修正以下 7 個欄位")

    # The password the person typed is gone, and the page says why.
    expect(page.locator("#password")).to_have_value("")
    expect(page.locator("#password-cleared")).to_have_text(CLEARED)
    expect(page.locator("#password-cleared")).to_be_visible()

    summary.get_by_role("link").filter(has_text="電子郵件").click()
    expect(page.locator("#email")).to_be_focused()
    # A group of choices: its first option, with its legend in view.
    summary.get_by_role("link", name="請選擇申請角色。").click()
    expect(page.locator("#role-manager")).to_be_focused()
    expect(page.locator("#role-field legend")).to_be_in_viewport()


def test_wrong_password_focuses_the_refusal_and_says_the_password_was_cleared(
    live_server, live_app, page: Page, page_problems
):
    with live_app.app_context():
        factories.account(state=AccountState.ACTIVE, username="lin.clinic07")
        db.session.commit()
    page.goto(f"{live_server}/login")
    page.get_by_label("帳號").fill("lin.clinic07")
    page.get_by_label("密碼").fill("Wrong*pass9x")
    page_problems.expect_console_error(r"status of 401 .*/login\)$")
    page.get_by_role("button", name="登入", exact=True).click()
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.locator("#login-error")).to_have_text("帳號或密碼錯誤。")
    expect(page.locator("#password-cleared")).to_have_text(CLEARED)
    expect(page.get_by_label("密碼")).to_have_value("")


def test_refused_status_lookup_focuses_its_summary_after_the_swap(
    live_server, page: Page, page_problems
):
    page_problems.expect_console_error(r"status of (404|422) .*/applications/status\)$")
    page.goto(f"{live_server}/applications/status")
    page.get_by_role("button", name="查詢").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("請修正以下 2 個欄位")
    summary.get_by_role("link").first.click()
    expect(page.locator("#application_no")).to_be_focused()

    page.locator("#application_no").fill("12345678901234")
    page.locator("#national_id").fill("A123456789")
    page.locator("#national_id").press("Enter")
    expect(page.locator("#status-error")).to_be_visible()
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_count(0)
