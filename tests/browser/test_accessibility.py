"""WCAG 2.1 AA in Chromium: axe-core finds no violation on any kind of page (public pages in
both languages, refused forms, each role's pages, HTMX swaps), and what axe cannot see is
checked here: the skip link, a visible focus ring, `lang`, table headers, and HTMX answers
announced through the page's live region."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from portal.accounts.models import Account, AccountState, Role, StaffRole
from portal.changes.models import (
    ChangeAction,
    ChangeKind,
    ChangeState,
    ManagerChange,
    ManagerChangeItem,
)
from portal.content.demo import load_demo_content
from portal.content.models import Announcement, AnnouncementCategory, GuidePage
from portal.content.services import PAGE_SIZE as CONTENT_PAGE_SIZE
from portal.db_types import utcnow
from portal.extensions import db
from portal.registration.models import Application, ApplicationState
from portal.subsystems.models import Subsystem, SubsystemRequest
from portal.verification.models import PaperScan
from tests import factories
from tests.browser.conftest import assert_accessible, new_profile, recording_page
from tests.browser.test_htmx_errors import seed_queue
from tests.browser.test_phone_width import APPLICANT_ID, ONE_PIXEL_PNG, seed, sign_in

pytestmark = pytest.mark.browser

TYPING_DELAY_MS = 30
PUBLIC_PAGES = (
    "/",
    "/register",
    "/login",
    "/password/forgot",
    "/applications/status",
    "/institutions/search?q=診所",
    "/announcements",
    "/announcements?q=颱風&category=system",
    "/downloads",
    "/faq",
    "/guide",
    "/contact",
    "/sitemap",
    "/privacy",
    "/accessibility",
    "/no-such-page",
)
LANG = {"zh": "zh-Hant-TW", "en": "en"}

# Every table states what its cells are: a header cell with a scope in each.
_TABLES_WITHOUT_HEADERS = """
() => Array.from(document.querySelectorAll("table"))
  .filter((table) => !table.querySelector("th") ||
          Array.from(table.querySelectorAll("th")).some((th) => !th.getAttribute("scope")))
  .map((table) => table.id || table.className || "table")
"""


def check_page(page: Page, where: str = "", lang: str = "zh") -> None:
    """axe-core, `lang` and table headers on the page as it is now."""
    assert_accessible(page, where)
    assert page.locator("html").get_attribute("lang") == LANG[lang], page.url
    assert page.evaluate(_TABLES_WITHOUT_HEADERS) == [], page.url


def choose_language(page: Page, url: str, lang: str) -> None:
    page.goto(f"{url}/language/{'en' if lang == 'en' else 'zh_Hant_TW'}?next=/")
    expect(page.locator("html")).to_have_attribute("lang", LANG[lang])


def seed_public_content(live_app) -> list[str]:
    """The demo announcements, Q&A, guides and contact windows; an announcement's and a
    guide page's own paths."""
    with live_app.app_context():
        author = factories.staff(StaffRole.PORTAL_ADMIN)
        load_demo_content(author)
        db.session.commit()
        announcement = db.session.scalar(select(Announcement.id).order_by(Announcement.id))
        guide = db.session.scalar(select(GuidePage.id).order_by(GuidePage.id))
        return [f"/announcements/{announcement}", f"/guide/{guide}"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_public_pages(live_server, live_app, page: Page, page_problems, lang):
    page_problems.expect_console_error(r"status of 404 .*/no-such-page\)$")
    own_pages = seed_public_content(live_app)
    choose_language(page, live_server, lang)
    for path in (*PUBLIC_PAGES, *own_pages):
        page.goto(f"{live_server}{path}")
        check_page(page, lang=lang)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_refused_forms(live_server, live_app, page: Page, page_problems, lang):
    page_problems.expect_console_error(r"status of (401|404|422) ")
    with live_app.app_context():
        factories.account(state=AccountState.ACTIVE, username="lin.clinic07")
        db.session.commit()
    choose_language(page, live_server, lang)
    submit = {
        "zh": ("送出申請", "登入", "查詢"),
        "en": ("Submit application", "Sign in", "Look up"),
    }

    page.goto(f"{live_server}/register")
    page.locator("#email").fill("chen@")
    page.get_by_role("button", name=submit[lang][0]).click()
    expect(page.locator(".error-summary")).to_be_focused()
    check_page(page, "the refused application", lang)

    page.goto(f"{live_server}/login")
    page.locator("#username").fill("lin.clinic07")
    page.locator("#password").fill("Wrong*pass9x")
    page.get_by_role("button", name=submit[lang][1], exact=True).click()
    expect(page.locator("#login-error")).not_to_be_empty()
    check_page(page, "a wrong password", lang)

    page.goto(f"{live_server}/password/forgot")
    page.locator("#main button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    check_page(page, "the refused reset request", lang)

    # 申請進度查詢 answers through HTMX: refused, then not found.
    page.goto(f"{live_server}/applications/status")
    page.get_by_role("button", name=submit[lang][2]).click()
    expect(page.locator("#application_no-error")).not_to_be_empty()
    check_page(page, "the refused look-up (HTMX)", lang)
    page.locator("#application_no").fill("12345678901234")
    page.locator("#national_id").fill("A123456789")
    page.get_by_role("button", name=submit[lang][2]).click()
    expect(page.locator("#status-error")).to_be_visible()
    check_page(page, "nothing found (HTMX)", lang)


def test_htmx_swaps_are_accessible_and_announced(live_server, live_app, page: Page):
    with live_app.app_context():
        clinic = factories.institution(name="臺北無障礙示範診所")  # no manager yet
        closed = factories.institution(name="臺北無障礙歇業診所", active=False)
        applicant = factories.account(role=Role.MANAGER, national_id=APPLICANT_ID)
        number = factories.application(applicant).application_no
        code, closed_code = clinic.code, closed.code
        db.session.commit()
    announced = page.locator("#live-status")

    page.goto(f"{live_server}/register")
    picker = page.locator("#institution_code")
    picker.press_sequentially("無障礙", delay=TYPING_DELAY_MS)
    expect(announced).to_have_text("找到 1 個機構，按向下鍵選擇。")
    check_page(page, "the picker's options")
    picker.fill("")
    picker.press_sequentially(closed_code, delay=TYPING_DELAY_MS)
    expect(page.locator("#institution-inactive")).to_be_visible()
    expect(announced).to_contain_text("已停用，不能申請帳號")
    check_page(page, "an inactive institution")
    picker.fill("")
    picker.press_sequentially(code, delay=TYPING_DELAY_MS)
    expect(announced).to_have_text(f"已選擇：臺北無障礙示範診所（{code}）")
    page.get_by_label("一般使用者").check()
    expect(page.locator("#role-error")).to_contain_text("此機構尚無單位業務管理者")
    check_page(page, "the role refused (HTMX)")
    page.locator("#password").press_sequentially("Tz9*", delay=TYPING_DELAY_MS)
    expect(announced).to_have_text("密碼強度：不符合規則")
    check_page(page, "the password meter (HTMX)")

    page.goto(f"{live_server}/applications/status")
    page.get_by_label("申請編號").fill(number)
    page.get_by_label("身分證字號").fill(APPLICANT_ID)
    page.get_by_role("button", name="查詢").click()
    expect(page.locator("#status-result")).to_be_visible()
    expect(announced).to_contain_text(f"申請編號 {number}。目前狀態：")
    check_page(page, "the progress found (HTMX)")


def test_skip_link_goes_to_the_main_content(live_server, page: Page):
    page.goto(f"{live_server}/register")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="跳到主要內容")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0  # shown once focused
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    page.keyboard.press("Tab")
    # The next stop is inside the main content, past the header's links.
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")


@pytest.mark.parametrize("path", ["/", "/register", "/login", "/applications/status"])
def test_focus_is_visible_everywhere_the_keyboard_goes(live_server, page: Page, focus_check, path):
    page.goto(f"{live_server}{path}")
    focus_check(page)


def test_every_role_s_pages(
    card_portal_without_helper, browser: Browser, page_problems, tmp_path, focus_check
):
    portal = card_portal_without_helper
    url = portal.url
    people = seed(portal.app, tmp_path / "uploads")
    ids = _more_ids(portal.app)
    page_problems.expect_console_error(r"ERR_CONNECTION_REFUSED.*/v1/status\)$")
    page_problems.expect_console_error(r"status of 422 ")

    def person() -> Page:
        return recording_page(new_profile(browser, width=1280), page_problems)

    # The applicant, from 申請進度查詢 to both ways of verifying.
    visitor = person()
    visitor.goto(f"{url}/applications/status")
    visitor.get_by_label("申請編號").fill(people["application_no"])
    visitor.get_by_label("身分證字號").fill(APPLICANT_ID)
    visitor.get_by_role("button", name="查詢").click()
    visitor.get_by_role("link", name="以醫事機構卡驗證").click()
    expect(visitor.locator("#helper-missing")).to_be_visible()
    check_page(visitor, "the card page, no helper")
    visitor.goto(f"{url}/verification/paper")
    check_page(visitor)
    visitor.get_by_role("button", name="上傳").click()
    expect(visitor.locator("#scan-error")).not_to_be_empty()
    check_page(visitor, "an upload without a file")

    general = person()
    sign_in(general, url, *people["general"])
    for path in ("/account", "/manager-changes", "/manager-changes/new"):
        general.goto(f"{url}{path}")
        check_page(general)
    focus_check(general)

    manager = person()
    sign_in(manager, url, *people["manager"])
    for path in (
        "/manager/applications",
        f"/manager/applications/{ids['waiting_application']}",
        "/manager/users",
        "/manager-changes/new",
        f"/manager-changes/{ids['change']}",
    ):
        manager.goto(f"{url}{path}")
        check_page(manager)
    manager.goto(f"{url}/manager/applications/{ids['waiting_application']}")
    manager.get_by_role("button", name="不核准").click()
    expect(manager.locator("#reason-error")).not_to_be_empty()
    check_page(manager, "a refusal without its reason")
    manager.goto(f"{url}/manager-changes/new")
    manager.get_by_role("button", name="送出異動申請").click()
    expect(manager.locator(".error-summary")).to_be_visible()
    check_page(manager, "the refused change form")
    manager.goto(f"{url}/manager/users")
    manager.get_by_role("row", name="李護理").get_by_role("link", name="停用").click()
    expect(manager.get_by_label("停用原因")).to_be_focused()
    expect(manager.locator("#live-status")).to_contain_text("確定要停用 李護理")
    check_page(manager, "the deactivation's confirmation (HTMX)")
    manager.get_by_role("button", name="確認停用").click()
    expect(manager.locator("#reason-error")).not_to_be_empty()
    check_page(manager, "the confirmation refused (HTMX)")
    focus_check(manager)

    help_desk = person()
    sign_in(help_desk, url, *people["help_desk"])
    help_desk.goto(f"{url}/review")
    check_page(help_desk)
    help_desk.goto(f"{url}/review/changes/{ids['change']}")
    check_page(help_desk)
    help_desk.goto(f"{url}{people['paper_review']}")
    check_page(help_desk)
    help_desk.get_by_role("button", name="顯示完整號碼（會留下紀錄）").click()
    expect(help_desk.locator("#live-status")).to_contain_text("完整身分證字號：")
    check_page(help_desk, "the ID number shown (HTMX)")
    help_desk.get_by_role("button", name="不核准").click()
    expect(help_desk.locator("#reason-error")).not_to_be_empty()
    check_page(help_desk, "a refusal without its reason")
    focus_check(help_desk)

    subsystem_admin = person()
    sign_in(subsystem_admin, url, *people["subsystem_admin"])
    subsystem_admin.goto(f"{url}/subsystem-admin/requests")
    check_page(subsystem_admin)
    subsystem_admin.goto(f"{url}/subsystem-admin/requests/{ids['subsystem_request']}")
    check_page(subsystem_admin)

    admin = person()
    sign_in(admin, url, *people["portal_admin"])
    for path in (
        "/admin/staff",
        f"/admin/staff/{ids['staff']}",
        "/admin/audit",
        "/admin/outbox",
        "/admin/institutions",
        "/admin/institutions/import",
        "/admin/subsystems",
        f"/admin/subsystems/{ids['subsystem']}",
        "/admin/calendar",
        "/admin/content",
        "/admin/content/announcement",
        "/admin/content/announcement/new",
        "/admin/content/faq",
        "/admin/content/guide",
        "/admin/content/download",
        "/admin/content/contact",
        "/admin/clients/",
        "/admin/clients/new",
    ):
        admin.goto(f"{url}{path}")
        check_page(admin)
    admin.goto(f"{url}/admin/audit")
    admin.get_by_role("link").filter(has_text=":").first.click()
    check_page(admin, "one audit event")
    admin.goto(f"{url}/admin/audit?date_from=2026-03-10&date_to=2026-03-01")
    check_page(admin, "a refused audit search")
    admin.goto(f"{url}/admin/staff/new")
    admin.get_by_role("button", name="建立並寄出設定密碼連結").click()
    expect(admin.locator(".error-summary")).to_be_visible()
    check_page(admin, "the refused staff form")
    admin.goto(f"{url}/admin/subsystems/new")
    admin.get_by_role("button", name="儲存").click()
    expect(admin.locator(".error-summary")).to_be_visible()
    check_page(admin, "the refused subsystem form")
    admin.goto(f"{url}/admin/calendar")
    admin.get_by_role("button", name="儲存").click()
    expect(admin.locator(".error-summary")).to_be_visible()
    check_page(admin, "the refused calendar form")
    focus_check(admin)


def _more_ids(app) -> dict:
    """Ids of what `seed` made that the pages above open."""
    with app.app_context():
        waiting = db.session.scalar(
            select(Application.id)
            .join(Account, Application.account_id == Account.id)
            .where(Account.name == "陳申請", Application.state == ApplicationState.AWAITING_MANAGER)
        )
        request_id = db.session.scalar(select(SubsystemRequest.id))
        staff_id = db.session.scalar(select(Account.id).where(Account.staff_role.is_not(None)))
        subsystem_id = db.session.scalar(select(Subsystem.id).where(Subsystem.code == "cessation"))
        # A manager change on paper, as its filer and the help desk see it.
        manager = db.session.scalar(select(Account).where(Account.name == "王大同"))
        change = ManagerChange(
            change_no=f"M{factories.next_number():014d}",
            institution_id=manager.institution_id,
            filed_by_id=manager.id,
            kind=ChangeKind.DEACTIVATE,
            state=ChangeState.AWAITING_PAPER_REVIEW,
            paper_at=utcnow(),
            items=[ManagerChangeItem(account_id=manager.id, action=ChangeAction.DEACTIVATE)],
        )
        db.session.add(change)
        db.session.flush()
        scan = PaperScan(
            change_id=change.id,
            stored_name=f"change-{change.id}.png",
            original_name="scan.png",
            content_type="image/png",
            size=len(ONE_PIXEL_PNG),
            sha256="0" * 64,
        )
        db.session.add(scan)
        (Path(app.config["UPLOAD_DIR"]) / scan.stored_name).write_bytes(ONE_PIXEL_PNG)
        db.session.commit()
        return {
            "change": change.id,
            "waiting_application": waiting,
            "subsystem_request": request_id,
            "staff": staff_id,
            "subsystem": subsystem_id,
        }


def test_load_more_moves_focus_to_the_rows_it_added(
    live_server, live_app, page: Page, tmp_path, axe_check
):
    username, secret, _ = seed_queue(live_app, 26, tmp_path)
    sign_in(page, live_server, username, secret)
    page.goto(f"{live_server}/review")
    more = page.get_by_role("link", name="載入更多")
    more.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#review-queue tbody tr")).to_have_count(26)
    # The link that had focus is gone; focus is on the first row it brought, which is said.
    expect(page.locator("#review-queue tbody tr").nth(25).get_by_role("link")).to_be_focused()
    expect(page.locator("#live-status")).to_have_text("已載入 1 筆。")
    axe_check(page, "after 載入更多")


def test_public_searches_are_accessible_and_announced(live_server, live_app, page: Page):
    seed_public_content(live_app)
    announced = page.locator("#live-status")
    page.goto(f"{live_server}/faq")
    page.get_by_label("搜尋問答").fill("密碼")
    page.get_by_role("button", name="搜尋").click()
    expect(announced).to_have_text(re.compile(r"^找到 \d+ 則問答。$"))
    check_page(page, "the Q&A found (HTMX)")
    page.get_by_label("搜尋問答").fill("沒有這種問題")
    page.get_by_role("button", name="搜尋").click()
    expect(announced).to_contain_text("查無含「沒有這種問題」的問答")
    check_page(page, "no Q&A found (HTMX)")

    page.goto(f"{live_server}/announcements")
    page.get_by_label("關鍵字").fill("沒有這種公告")
    page.get_by_role("button", name="查詢").click()
    expect(announced).to_have_text("查無符合條件的公告，請換個關鍵字或分類再查詢。")
    check_page(page, "no announcement found (HTMX)")
    page.get_by_label("關鍵字").fill("")
    page.get_by_role("button", name="查詢").click()
    expect(announced).to_have_text(re.compile(r"^列出 \d+ 則公告。$"))
    check_page(page, "the announcements listed (HTMX)")


def test_more_announcements_moves_focus_to_the_rows_it_added(
    live_server, live_app, page: Page, axe_check
):
    with live_app.app_context():
        now = utcnow()
        for number in range(CONTENT_PAGE_SIZE + 2):
            moment = now - timedelta(minutes=number)
            db.session.add(
                Announcement(
                    title=f"公告{number:03d}",
                    category=AnnouncementCategory.SYSTEM,
                    body="內文",
                    publish_at=moment,
                    created_at=moment,
                    updated_at=moment,
                )
            )
        db.session.commit()
    page.goto(f"{live_server}/announcements")
    page.get_by_role("link", name="更多公告").focus()
    page.keyboard.press("Enter")
    first_added = page.get_by_role("link", name=f"公告{CONTENT_PAGE_SIZE:03d}")
    expect(first_added).to_be_focused()
    expect(page.locator("#live-status")).to_have_text("已載入 2 則公告。")
    axe_check(page, "after 更多公告")
