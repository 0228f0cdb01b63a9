"""本機構使用者 in a real browser: 停用 asks in the row for a reason, then 重新啟用."""

import pytest
from playwright.sync_api import Page, expect

from portal.accounts.models import AccountState, Role
from portal.extensions import db
from tests import factories

pytestmark = pytest.mark.browser

MANAGER = "mgr.clinic01"


def seed(live_app) -> None:
    """Commit a clinic with its manager and one active general user, 王小華."""
    with live_app.app_context():
        clinic = factories.institution()
        factories.account(
            institution=clinic,
            role=Role.MANAGER,
            state=AccountState.ACTIVE,
            username=MANAGER,
        )
        factories.account(institution=clinic, state=AccountState.ACTIVE, name="王小華")
        db.session.commit()


def test_deactivate_with_a_reason_then_reactivate(
    live_server, live_app, page: Page, page_problems, artifacts, smtp_sink, axe_check
):
    seed(live_app)
    page.goto(f"{live_server}/login")
    page.get_by_label("帳號").fill(MANAGER)
    page.get_by_label("密碼").fill(factories.STRONG_PASSWORD)
    page.get_by_role("button", name="登入", exact=True).click()
    expect(page).to_have_url(f"{live_server}/account")
    page.goto(f"{live_server}/manager/users")

    row = page.get_by_role("row", name="王小華")
    row.get_by_role("link", name="停用").click()
    # The confirmation opens in the row (HTMX): still the same page.
    reason = row.get_by_label("停用原因")
    expect(reason).to_be_visible()
    expect(page).to_have_url(f"{live_server}/manager/users")
    # The link that opened it is gone: focus is on the reason, and the question is said.
    expect(reason).to_be_focused()
    expect(page.locator("#live-status")).to_contain_text("確定要停用 王小華")
    axe_check(page, "the confirmation in the row")
    page.screenshot(path=artifacts / "manager-deactivate-confirm.png", full_page=True)

    # No reason: the form comes back with the message next to the field.
    page_problems.expect_console_error(r"status of 422 .*/deactivate\)$")
    row.get_by_role("button", name="確認停用").click()
    expect(page.locator("#reason-error")).to_contain_text("請填寫停用原因")
    expect(page.locator("#reason")).to_have_attribute("aria-invalid", "true")
    page.screenshot(path=artifacts / "manager-deactivate-error.png", full_page=True)

    page.locator("#reason").fill("已離職")
    page.get_by_role("button", name="確認停用").click()
    expect(page).to_have_url(f"{live_server}/manager/users")
    expect(page.locator("p.flash")).to_have_text("已停用 王小華 的帳號。")
    row = page.get_by_role("row", name="王小華")
    expect(row).to_contain_text("已停用")
    assert "已離職" in smtp_sink.wait_for(1)[0].get_content()

    row.get_by_role("button", name="重新啟用").click()
    expect(page.locator("p.flash")).to_have_text("已重新啟用 王小華 的帳號。")
    expect(page.get_by_role("row", name="王小華")).to_contain_text("使用中")
