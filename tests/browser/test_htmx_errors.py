"""Every HTMX request's error answer, seen in Chromium as a person would see it.

htmx leaves 4xx answers unswapped by default, so a refused look-up or an expired page showed
nothing at all. The site's htmx-config swaps them: a component's own fragment comes back with
its field errors or 查無符合, and a refusal that belongs to no component (too many tries, an
expired page, 找不到) is put in the page's error banner. A 5xx or a lost connection is never
swapped; app.js writes a message in the same banner instead.
"""

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page, Route, expect
from sqlalchemy import update

from portal.accounts.models import Account, AccountState, Role, StaffRole
from portal.auth.models import PasswordResetToken, UserSession
from portal.auth.passwords import issue_reset_token
from portal.extensions import db, limiter
from portal.registration.models import ApplicationState
from portal.security.encryption import decrypt_text
from tests import factories

pytestmark = pytest.mark.browser

TYPING_DELAY_MS = 30
NATIONAL_ID = "F131104093"
OTHER_NATIONAL_ID = "A123456789"  # valid, but not the applicant's
TOO_MANY = "短時間內的操作次數過多，請稍候再試。"
RETRY_AT = re.compile(r"請於 (\d{4}-\d{2}-\d{2} )?\d{2}:\d{2} 後再試。")
PAGE_EXPIRED = "這一頁已過期，請重新整理後再試一次。"
SERVER_FAILED = "系統暫時無法處理這個要求，請稍後再試一次。"
NO_CONNECTION = "無法連線到網站，請確認網路連線後再試一次。"
# The stamped scan the reviewer sees: one white pixel is enough for the page to show it.
ONE_PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
)


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """These tests lower limits to reach them; no count may leak into another test."""
    limiter.reset()
    yield
    limiter.reset()


def banner(page: Page):
    """The page's error banner (an aria-live region)."""
    return page.locator("#request-error")


def commit(live_app, make):
    """Run `make` in the live app's database and commit; what it returned."""
    with live_app.app_context():
        result = make()
        db.session.commit()
        return result


def sign_in(page: Page, url: str, username: str, totp_secret: str | None = None) -> None:
    """Sign in as a person would (with the authenticator code for staff)."""
    page.goto(f"{url}/login")
    page.get_by_label("帳號").fill(username)
    page.get_by_label("密碼").fill(factories.STRONG_PASSWORD)
    page.get_by_role("button", name="登入", exact=True).click()
    if totp_secret:
        page.get_by_label("驗證碼").fill(pyotp.TOTP(totp_secret).now())
        page.get_by_role("button", name="驗證", exact=True).click()
    expect(page.locator("#main-nav").get_by_role("button", name="登出")).to_be_visible()


def end_the_session(context: BrowserContext) -> None:
    """The browser forgets its session cookie (expired, or cleared), the page stays open."""
    context.clear_cookies()


# --- 申請進度查詢 -----------------------------------------------------------------------


def look_up(page: Page, number: str, national_id: str) -> None:
    page.get_by_label("申請編號").fill(number)
    page.get_by_label("身分證字號").fill(national_id)
    page.get_by_role("button", name="查詢").click()


def test_status_lookup_with_empty_fields_says_what_is_missing(
    live_server, page: Page, page_problems
):
    page_problems.expect_console_error(r"status of 422 .*/applications/status\)$")
    page.goto(f"{live_server}/applications/status")
    page.get_by_role("button", name="查詢").click()
    expect(page.locator("#application_no-error")).to_have_text("請輸入申請編號。")
    expect(page.locator("#national_id-error")).to_have_text("請輸入身分證字號或居留證號。")
    expect(page.locator("#application_no")).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(f"{live_server}/applications/status")


def test_status_lookup_with_a_bad_format_says_the_format(live_server, page: Page, page_problems):
    page_problems.expect_console_error(r"status of 422 .*/applications/status\)$")
    page.goto(f"{live_server}/applications/status")
    page.get_by_label("申請編號").press_sequentially("12345", delay=TYPING_DELAY_MS)
    page.get_by_label("身分證字號").press_sequentially("A12345678X", delay=TYPING_DELAY_MS)
    page.get_by_role("button", name="查詢").click()
    expect(page.locator("#application_no-error")).to_contain_text("申請編號為 14 位數字")
    expect(page.locator("#national_id-error")).to_contain_text("格式不正確")
    expect(page.get_by_label("申請編號")).to_have_value("12345")


def test_status_lookup_with_a_wrong_id_number_says_nothing_matched(
    live_server, live_app, page: Page, page_problems
):
    number = commit(
        live_app,
        lambda: factories.application(factories.account(national_id=NATIONAL_ID)).application_no,
    )
    page_problems.expect_console_error(r"status of 404 .*/applications/status\)$")
    page.goto(f"{live_server}/applications/status")
    look_up(page, number, OTHER_NATIONAL_ID)
    expect(page.locator("#status-error")).to_have_text(
        "查無符合的申請。請確認申請編號與身分證字號是否正確。"
    )
    expect(page.locator("#status-result")).to_have_count(0)

    # Corrected, the same form answers.
    look_up(page, number, NATIONAL_ID)
    expect(page.locator("#status-result")).to_be_visible()
    expect(page.locator("#status-error")).to_have_count(0)


def test_status_lookup_too_often_says_to_wait(
    live_server, live_app, page: Page, page_problems, axe_check
):
    live_app.config["RATELIMIT_STATUS_LOOKUP"] = "2 per minute"
    page_problems.expect_console_error(r"status of (404|429) .*/applications/status\)$")
    page.goto(f"{live_server}/applications/status")
    for _ in range(2):
        # Each answer is swapped in before the next is typed: "not found" from the first
        # would already be visible while the second is still on its way.
        with page.expect_response(f"{live_server}/applications/status"):
            look_up(page, "12345678901234", OTHER_NATIONAL_ID)
        expect(page.locator("#status-error")).to_be_visible()
    look_up(page, "12345678901234", OTHER_NATIONAL_ID)
    expect(banner(page)).to_contain_text(TOO_MANY)
    expect(banner(page).locator("#retry-at")).to_have_text(RETRY_AT)
    expect(banner(page)).to_be_visible()
    axe_check(page, "the error banner shown")
    # The form is still there, with what was typed.
    expect(page.get_by_label("申請編號")).to_have_value("12345678901234")


def test_status_lookup_on_an_expired_page_says_to_reload(
    live_server, context: BrowserContext, page: Page, page_problems
):
    page_problems.expect_console_error(r"status of 400 .*/applications/status\)$")
    page.goto(f"{live_server}/applications/status")
    end_the_session(context)
    look_up(page, "12345678901234", OTHER_NATIONAL_ID)
    expect(banner(page)).to_have_text(PAGE_EXPIRED)
    expect(page.get_by_role("heading", name="申請進度查詢")).to_have_count(1)

    # Reloaded, it works again, and the banner is gone.
    page_problems.expect_console_error(r"status of 404 .*/applications/status\)$")
    page.reload()
    look_up(page, "12345678901234", OTHER_NATIONAL_ID)
    expect(page.locator("#status-error")).to_be_visible()
    expect(banner(page)).to_be_empty()


# --- 帳號申請: the role check, the password meter, the institution picker -------------------


def test_role_check_too_often_says_to_wait_and_keeps_the_choice(
    live_server, live_app, page: Page, page_problems
):
    live_app.config["RATELIMIT_ROLE_CHECK"] = "1 per minute"
    page_problems.expect_console_error(r"status of 429 .*/register/role-check\)$")
    page.goto(f"{live_server}/register")
    page.get_by_label("單位業務管理者").check()
    expect(page.locator("#role-field")).to_have_attribute("hx-post", "/register/role-check")
    page.get_by_label("一般使用者").check()
    expect(banner(page)).to_contain_text(TOO_MANY)
    expect(page.get_by_label("一般使用者")).to_be_checked()
    expect(page.locator("#role-field")).to_have_count(1)


def test_password_meter_on_an_expired_page_says_to_reload(
    live_server, context: BrowserContext, page: Page, page_problems
):
    page_problems.expect_console_error(r"status of 400 .*/register/password-strength\)$")
    page.goto(f"{live_server}/register")
    end_the_session(context)
    page.locator("#password").press_sequentially("Abc", delay=TYPING_DELAY_MS)
    expect(banner(page)).to_have_text(PAGE_EXPIRED)
    # The meter stays what it was, in its place.
    expect(page.locator("#password-strength")).to_have_text("（尚未輸入）")
    expect(page.locator("#password-meter")).to_have_count(1)


def test_password_meter_of_a_spent_reset_link_says_so(
    live_server, live_app, page: Page, page_problems
):
    def reset_link() -> str:
        account = factories.account(state=AccountState.ACTIVE)
        return issue_reset_token(account, 30)

    token = commit(live_app, reset_link)
    page.goto(f"{live_server}/password/reset/{token}")
    expect(page.get_by_role("heading", name="設定新密碼")).to_be_visible()
    # Meanwhile the link is used in another tab.
    commit(
        live_app,
        lambda: db.session.execute(update(PasswordResetToken).values(used_at=datetime.now(UTC))),
    )
    page_problems.expect_console_error(r"status of 410 .*/password/strength\?token=")
    page.locator("#password").press_sequentially("Abc", delay=TYPING_DELAY_MS)
    expect(banner(page)).to_have_text("這個重設密碼連結已失效（已使用或超過時效）。請重新申請。")
    expect(page.locator("#password-meter")).to_have_count(1)


def test_institution_search_too_often_says_to_wait_and_keeps_the_list(
    live_server, live_app, page: Page, page_problems
):
    live_app.config["RATELIMIT_INSTITUTION_SEARCH"] = "1 per minute"
    _, name = commit(
        live_app,
        lambda: (lambda i: (i.code, i.name))(factories.institution(name="臺北北投示範診所")),
    )
    page_problems.expect_console_error(r"status of 429 .*/institutions/search\?")
    page.goto(f"{live_server}/register")
    search = page.locator("#institution_code")
    search.press_sequentially("北投", delay=TYPING_DELAY_MS)
    option = page.locator("#institution-results .option", has_text=name)
    expect(option).to_be_visible()
    search.press_sequentially("示範", delay=TYPING_DELAY_MS)
    expect(banner(page)).to_contain_text(TOO_MANY)
    expect(option).to_be_visible()


def test_institution_search_when_the_server_fails_or_is_unreachable(
    live_server, page: Page, page_problems
):
    page_problems.expect_console_error(r"status of 500 .*/institutions/search\?")
    page_problems.expect_console_error(r"^Response Status Error Code 500 from /institutions/search")
    page_problems.expect_console_error(r"net::ERR_FAILED")
    page_problems.expect_console_error(r"^htmx:(sendError|afterRequest)")
    page.goto(f"{live_server}/institutions/search")

    def fail(route: Route) -> None:
        route.fulfill(status=500, content_type="text/html", body="<h1>Internal Server Error</h1>")

    page.route("**/institutions/search?*", fail)
    page.get_by_label("機構代碼或名稱").press_sequentially("北投", delay=TYPING_DELAY_MS)
    expect(banner(page)).to_have_text(SERVER_FAILED)
    expect(page.locator("h1")).to_have_text("搜尋醫事機構")  # nothing was swapped in

    page.unroute("**/institutions/search?*")
    page.route("**/institutions/search?*", lambda route: route.abort())
    page.get_by_label("機構代碼或名稱").press_sequentially("示範", delay=TYPING_DELAY_MS)
    expect(banner(page)).to_have_text(NO_CONNECTION)

    # The banner can be closed.
    page.get_by_role("button", name="關閉訊息").click()
    expect(banner(page)).to_be_empty()
    expect(page.get_by_role("button", name="關閉訊息")).to_be_hidden()


def test_a_server_failure_gives_the_request_id_to_quote(live_server, page: Page, page_problems):
    page_problems.expect_console_error(r"status of 500 .*/institutions/search\?")
    page_problems.expect_console_error(r"^Response Status Error Code 500 from /institutions/search")
    page.goto(f"{live_server}/institutions/search")
    failed_request = "3f2a9c0d5e6b4a718293a4b5c6d7e8f9"

    def fail(route: Route) -> None:
        route.fulfill(
            status=500,
            content_type="text/html",
            headers={"X-Request-ID": failed_request},
            body="<h1>Internal Server Error</h1>",
        )

    page.route("**/institutions/search?*", fail)
    page.get_by_label("機構代碼或名稱").press_sequentially("北投", delay=TYPING_DELAY_MS)
    expect(banner(page)).to_have_text(
        f"{SERVER_FAILED} 如需協助，請向客服人員提供參考編號：{failed_request}"
    )


# --- 紙本審核 (help desk): 載入更多 and 顯示完整號碼 ------------------------------------------


def seed_queue(live_app, count: int, uploads: Path) -> tuple[str, str, int]:
    """`count` paper applications waiting, their scans in `uploads`, and a help-desk
    reviewer: username, authenticator secret, and the first application's id."""
    live_app.config["UPLOAD_DIR"] = str(uploads)
    uploads.mkdir(exist_ok=True)

    def make():
        first = None
        for number in range(count):
            manager = factories.account(
                role=Role.MANAGER,
                name=f"申請人{number:02d}",
                institution=factories.institution(),
                national_id=NATIONAL_ID,
            )
            application = factories.application(
                manager,
                state=ApplicationState.AWAITING_PAPER_REVIEW,
                step_started_at=datetime(2026, 1, 5, 2, tzinfo=UTC) + timedelta(minutes=number),
            )
            scan = factories.paper_scan(application)
            (uploads / scan.stored_name).write_bytes(ONE_PIXEL_PNG)
            first = first or application.id
        reviewer = factories.staff(StaffRole.HELP_DESK)
        return reviewer.username, decrypt_text(reviewer.totp_secret_encrypted), first

    return commit(live_app, make)


def test_load_more_after_the_session_ended_goes_to_sign_in(
    live_server, live_app, context: BrowserContext, page: Page, tmp_path
):
    username, secret, _ = seed_queue(live_app, 26, tmp_path)
    sign_in(page, live_server, username, secret)
    page.goto(f"{live_server}/review")
    expect(page.locator("#review-queue tbody tr")).to_have_count(26)  # 25 and 載入更多
    end_the_session(context)
    page.get_by_role("link", name="載入更多").click()
    expect(page).to_have_url(f"{live_server}/login?next=%2Freview")
    expect(page.locator("p.flash")).to_have_text("請先登入。")
    expect(page.get_by_role("heading", name="服務登入")).to_be_visible()


def test_load_more_when_the_server_fails_keeps_the_link(
    live_server, live_app, page: Page, page_problems, tmp_path
):
    username, secret, _ = seed_queue(live_app, 26, tmp_path)
    sign_in(page, live_server, username, secret)
    page.goto(f"{live_server}/review")
    page.route("**/review?*after=*", lambda route: route.fulfill(status=502, body="Bad Gateway"))
    page_problems.expect_console_error(r"status of 502 .*/review\?")
    page_problems.expect_console_error(r"^Response Status Error Code 502 from /review")
    page.get_by_role("link", name="載入更多").click()
    expect(banner(page)).to_have_text(SERVER_FAILED)
    expect(page.get_by_role("link", name="載入更多")).to_be_visible()


def test_revealing_an_id_number_on_an_expired_page_says_to_reload(
    live_server, live_app, context: BrowserContext, page: Page, page_problems, tmp_path
):
    username, secret, application_id = seed_queue(live_app, 1, tmp_path)
    sign_in(page, live_server, username, secret)
    page.goto(f"{live_server}/review/{application_id}")
    expect(page.locator("#national-id")).to_contain_text("F13110****")
    end_the_session(context)
    page_problems.expect_console_error(r"status of 400 .*/national-id\)$")
    page.get_by_role("button", name="顯示完整號碼（會留下紀錄）").click()
    expect(banner(page)).to_have_text(PAGE_EXPIRED)
    expect(page.locator("#national-id")).to_contain_text("F13110****")
    expect(page.locator("#national-id")).not_to_contain_text(NATIONAL_ID)


def test_revealing_an_id_number_without_the_role_any_more_says_so(
    live_server, live_app, page: Page, page_problems, tmp_path
):
    username, secret, application_id = seed_queue(live_app, 1, tmp_path)
    sign_in(page, live_server, username, secret)
    page.goto(f"{live_server}/review/{application_id}")
    # Meanwhile the portal administrator gives the reviewer another role.
    commit(
        live_app,
        lambda: db.session.execute(
            update(Account)
            .where(Account.username == username)
            .values(staff_role=StaffRole.PORTAL_ADMIN)
        ),
    )
    page_problems.expect_console_error(r"status of 403 .*/national-id\)$")
    page.get_by_role("button", name="顯示完整號碼（會留下紀錄）").click()
    expect(banner(page)).to_have_text("您沒有使用這項功能的權限。")
    expect(page.locator("#national-id")).not_to_contain_text(NATIONAL_ID)


# --- 本機構使用者 (manager): 停用's confirmation ---------------------------------------------


def seed_clinic(live_app) -> tuple[str, int]:
    """A clinic with its manager and one active general user, 王小華: the manager's username
    and the user's id."""

    def make():
        clinic = factories.institution()
        manager = factories.account(
            institution=clinic, role=Role.MANAGER, state=AccountState.ACTIVE
        )
        user = factories.account(institution=clinic, state=AccountState.ACTIVE, name="王小華")
        return manager.username, user.id

    return commit(live_app, make)


def test_deactivating_someone_no_longer_a_general_user_says_not_found(
    live_server, live_app, page: Page, page_problems
):
    manager, user_id = seed_clinic(live_app)
    sign_in(page, live_server, manager)
    page.goto(f"{live_server}/manager/users")
    # Meanwhile 王小華 became a manager (a change applied elsewhere).
    commit(
        live_app,
        lambda: db.session.execute(
            update(Account).where(Account.id == user_id).values(role=Role.MANAGER)
        ),
    )
    page_problems.expect_console_error(r"status of 404 .*/deactivate\)$")
    row = page.get_by_role("row", name="王小華")
    row.get_by_role("link", name="停用").click()
    expect(banner(page)).to_have_text("找不到這個頁面或資料。")
    expect(row.get_by_role("link", name="停用")).to_be_visible()  # the row as it was
    expect(page).to_have_url(f"{live_server}/manager/users")


def test_deactivating_after_the_session_ended_goes_to_sign_in(live_server, live_app, page: Page):
    manager, _ = seed_clinic(live_app)
    sign_in(page, live_server, manager)
    page.goto(f"{live_server}/manager/users")
    # The session ends on the server (signed out elsewhere, or timed out); the cookie stays.
    commit(
        live_app,
        lambda: db.session.execute(update(UserSession).values(ended_at=datetime.now(UTC))),
    )
    page.get_by_role("row", name="王小華").get_by_role("link", name="停用").click()
    expect(page).to_have_url(f"{live_server}/login?next=%2Fmanager%2Fusers")
    expect(page.locator("p.flash")).to_have_text("請先登入。")
