"""管理者異動 in a real browser: a new manager takes over from one who left.

The institution's old manager has gone, leaving an active account and a general user. A
new person applies as 單位業務管理者 and opens the account with the institution card (the
real PC/SC stack, as in test_card_verification_flow.py), files B 停用管理者帳號 for the
old manager, prints the form, and uploads a scan of it after stamping; the help desk signs
in with its second factor, finds the filing in its queue and approves it; the old manager
can no longer sign in.
"""

import re
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from portal.accounts.models import AccountState, Role, StaffRole
from portal.extensions import db
from portal.security.encryption import decrypt_text
from tests import factories, scanner
from tests.browser.test_card_verification_flow import (
    CARD_TIMEOUT_MS,
    INSTITUTION_NAME,
    TYPING_DELAY_MS,
    USERNAME,
    apply_as_manager,
)
from tests.cards.pki import INSTITUTION_CODE
from tests.cards.stack import CARD_PIN

pytestmark = pytest.mark.browser

OLD_MANAGER = ("chen.oldmgr", "陳舊管")
GENERAL_USER = ("lee.nurse", "李護理")
NEW_MANAGER_NAME = "王大同"  # as apply_as_manager fills it in
HELP_DESK = "desk.huang"
# Reading the QR code back from a 300 dpi scan takes a moment longer than a plain page.
UPLOAD_TIMEOUT_MS = 20_000


def seed_institution_whose_manager_left(portal) -> str:
    """Commit 臺北虛擬診所 with its old manager, a general user and a help-desk reviewer;
    the reviewer's authenticator secret."""
    with portal.app.app_context():
        place = factories.institution(code=INSTITUTION_CODE, name=INSTITUTION_NAME)
        for (username, name), role, national_id in (
            (OLD_MANAGER, Role.MANAGER, "A123456789"),
            (GENERAL_USER, Role.GENERAL, "B123456780"),
        ):
            factories.account(
                institution=place,
                role=role,
                state=AccountState.ACTIVE,
                username=username,
                name=name,
                national_id=national_id,
            )
        reviewer = factories.staff(StaffRole.HELP_DESK, username=HELP_DESK, name="黃窗口")
        secret = decrypt_text(reviewer.totp_secret_encrypted)
        db.session.commit()
    return secret


def sign_in(page: Page, portal_url: str, username: str) -> None:
    """Open 服務登入, type the account and the test password, press 登入."""
    page.goto(f"{portal_url}/login")
    expect(page.get_by_role("heading", name="服務登入")).to_be_visible()
    page.get_by_label("帳號").press_sequentially(username, delay=TYPING_DELAY_MS)
    page.get_by_label("密碼").press_sequentially(factories.STRONG_PASSWORD, delay=TYPING_DELAY_MS)
    page.get_by_role("button", name="登入", exact=True).click()


def open_account_with_the_card(page: Page, portal_url: str) -> None:
    """Apply as the new manager of 臺北虛擬診所 and verify with the card in the reader."""
    apply_as_manager(page, portal_url)
    page.locator("#verify-with-card").click()
    expect(page.get_by_role("heading", name="醫事機構卡驗證")).to_be_visible()
    expect(page.locator("#helper-status")).to_have_text("讀卡機與機構卡已就緒，請輸入 PIN 碼。")
    page.get_by_label("機構卡 PIN 碼").press_sequentially(CARD_PIN, delay=TYPING_DELAY_MS)
    page.get_by_role("button", name="驗證機構卡").click()
    expect(page.locator("#verification-result")).to_have_text(
        "您的單位業務管理者帳號已啟用，請以申請的帳號登入。", timeout=CARD_TIMEOUT_MS
    )


def file_deactivation_of_old_manager(page: Page) -> str:
    """From 我的帳號, file B 停用管理者帳號 for the old manager; the change number."""
    page.locator("#main-nav").get_by_role("link", name="管理者異動").click()
    expect(page.get_by_role("heading", name="管理者異動", exact=True)).to_be_visible()
    expect(page.locator("#no-changes")).to_have_text("目前沒有管理者異動申請。")
    page.get_by_role("link", name="申請管理者異動").click()
    expect(page.get_by_role("heading", name="申請管理者異動")).to_be_visible()
    page.get_by_label("B. 停用管理者帳號").check()
    target = page.get_by_label("異動的帳號")
    # Everyone active at the institution, the filer included; nobody from elsewhere.
    expect(target.locator("option")).to_have_count(4)
    for username, name in (OLD_MANAGER, (USERNAME, NEW_MANAGER_NAME), GENERAL_USER):
        expect(target).to_contain_text(f"{name}（{username}）")
    target.select_option(label=f"{OLD_MANAGER[1]}（{OLD_MANAGER[0]}）")
    page.get_by_role("button", name="送出異動申請").click()

    flash = page.locator("p.flash")
    expect(flash).to_contain_text("已送出異動申請，編號 M")
    expect(flash).to_contain_text("請接著以機構卡驗證，或列印申請表用印後上傳。")
    number = re.search(r"M\d+", flash.inner_text())[0]
    expect(page.get_by_role("heading", name=f"管理者異動 {number}")).to_be_visible()
    expect(page.locator("#change-kind")).to_have_text("B. 停用管理者帳號")
    expect(page.locator("#change-items")).to_have_text(
        f"{OLD_MANAGER[1]}（{OLD_MANAGER[0]}）：停用管理者帳號"
    )
    expect(page.locator("#change-state")).to_have_text("待機構驗證（機構卡或紙本）")
    expect(page.locator("#waiting-for")).to_have_text(
        "申請人：請以醫事機構卡驗證，或列印申請表用印後上傳（紙本審核）"
    )
    return number


def upload_stamped_scan(page: Page, number: str, workdir: Path) -> None:
    """Download the printed form, stamp and scan it, upload the JPEG."""
    with page.expect_download() as download:
        page.get_by_role("link", name="下載預先填好的申請表（PDF）").click()
    assert download.value.suggested_filename == f"manager-change-{number}.pdf"
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    scan = workdir / "stamped-scan.jpg"
    scan.write_bytes(scanner.jpeg(scanner.scan(pdf)))

    page.get_by_label("用印後的掃描檔").set_input_files(scan)
    page.get_by_role("button", name="上傳", exact=True).click()
    expect(page.locator("p.flash")).to_have_text(
        "已收到掃描檔，系統服務窗口會在期限內審核。", timeout=UPLOAD_TIMEOUT_MS
    )
    expect(page.locator("#change-state")).to_have_text("紙本審核中")
    expect(page.locator("#waiting-for")).to_have_text("系統服務窗口（紙本審核）")
    expect(page.locator("#due-on")).to_have_text(re.compile(r"^\d{4}-\d{2}-\d{2}$"))
    history = page.locator("#upload-history")
    expect(history).to_contain_text("stamped-scan.jpg")
    expect(history).not_to_contain_text("未能讀取 QR Code")
    expect(page.get_by_role("link", name="以醫事機構卡驗證（立即生效）")).to_have_count(0)


def help_desk_signs_in(page: Page, portal_url: str, secret: str) -> None:
    """The reviewer's account name, password and authenticator code."""
    sign_in(page, portal_url, HELP_DESK)
    expect(page.get_by_role("heading", name="雙重驗證")).to_be_visible()
    page.get_by_label("驗證碼").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="驗證", exact=True).click()
    # The help desk lands on its work, the queue.
    expect(page.get_by_role("heading", name="紙本審核", exact=True)).to_be_visible()


def approve_from_the_queue(page: Page, number: str, page_problems) -> None:
    """Find the filing among B filings in 紙本審核, open it, confirm and approve it."""
    page.locator("#main-nav").get_by_role("link", name="紙本審核").click()
    expect(page.get_by_role("heading", name="紙本審核")).to_be_visible()
    expect(page.locator("#count-awaiting_paper_review")).to_have_text("1")
    page.get_by_label("類別").select_option(label="B. 停用管理者帳號")
    page.get_by_role("button", name="篩選").click()
    expect(page).to_have_url(re.compile(r"/review\?.*kind=deactivate"))
    row = page.locator("#review-queue tbody tr", has_text=number)
    expect(row).to_contain_text("B. 停用管理者帳號")
    expect(row).to_contain_text(f"{INSTITUTION_NAME}（{INSTITUTION_CODE}）")
    expect(row).to_contain_text(NEW_MANAGER_NAME)
    row.get_by_role("link", name=number).click()

    expect(page.get_by_role("heading", name=f"管理者異動 {number}")).to_be_visible()
    expect(page.locator("#change-state")).to_have_text("紙本審核中")
    items = page.locator("#change-items tbody tr")
    expect(items).to_have_count(1)
    expect(items).to_contain_text(OLD_MANAGER[0])
    expect(items).to_contain_text("A12345****")
    expect(items).to_contain_text("停用管理者帳號")
    expect(page.locator("figure.scan figcaption")).to_contain_text("QR Code 與申請編號相符")
    expect(page.get_by_role("img", name="掃描檔預覽")).to_be_visible()

    # Approving without the confirmation is refused next to the checkbox, which is in view
    # although it lies below the scan.
    page_problems.expect_console_error(r"status of 422 .*/review/changes/\d+/decision#decision\)$")
    page.get_by_role("button", name="核准", exact=True).click()
    confirm_error = page.locator("#confirm-error")
    expect(confirm_error).to_have_text("請先勾選確認已核對掃描檔上的關防與申請內容，再核准。")
    expect(confirm_error).to_be_in_viewport()
    page.get_by_label("我已核對掃描檔上的關防與申請內容").check()
    page.get_by_role("button", name="核准", exact=True).click()
    expect(page.locator("p.flash")).to_have_text(f"已核准 {number}，異動已生效。")
    expect(page.get_by_role("heading", name="紙本審核")).to_be_visible()
    expect(page.locator("#count-awaiting_paper_review")).to_have_text("0")


def test_new_manager_deactivates_the_one_who_left(
    card_portal,
    insert_card,
    page: Page,
    second_page: Page,
    page_problems,
    tmp_path,
    artifacts,
    axe_check,
):
    card_portal.app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    reviewer_secret = seed_institution_whose_manager_left(card_portal)
    insert_card()
    open_account_with_the_card(page, card_portal.url)

    sign_in(page, card_portal.url, USERNAME)
    expect(page.get_by_role("heading", name="我的帳號")).to_be_visible()
    expect(page.locator("#account-role")).to_have_text("單位業務管理者")
    number = file_deactivation_of_old_manager(page)
    upload_stamped_scan(page, number, tmp_path)
    axe_check(page, "the change with its scan")
    page.screenshot(path=artifacts / "manager-change-uploaded.png", full_page=True)

    help_desk_signs_in(second_page, card_portal.url, reviewer_secret)
    approve_from_the_queue(second_page, number, page_problems)

    page.reload()
    expect(page.locator("#change-state")).to_have_text("已核准，異動已生效")
    expect(page.locator("#change-progress li[aria-current]")).to_have_count(0)
    expect(page.get_by_role("button", name="上傳", exact=True)).to_have_count(0)
    axe_check(page, "the change applied")

    # The old manager's account is closed: the right password no longer opens it.
    page_problems.expect_console_error(r"status of 401 .*/login\)$")
    page.locator("#main-nav").get_by_role("button", name="登出").click()
    expect(page.locator("p.flash")).to_have_text("您已登出。")
    sign_in(page, card_portal.url, OLD_MANAGER[0])
    expect(page.locator("#login-error")).to_have_text(
        "您的帳號已停用，無法登入。如需恢復請洽貴機構的單位業務管理者。"
    )
    expect(page.get_by_label("帳號")).to_have_value(OLD_MANAGER[0])
    expect(page.locator("#main-nav").get_by_role("button", name="登出")).to_have_count(0)
