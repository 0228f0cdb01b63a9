"""Screenshots of the 管理者異動 pages at a desktop's and a phone's width, for a person to look at.

Not part of the suite (the file name does not start with test_); run it on purpose:

    python -m pytest tests/browser/screens_manager_changes.py

Full-page PNGs land in tests/artifacts/screens/<name>-<width>.png. Each screen is also checked
for content wider than the window; what overflows is written to overflow.txt beside them.
"""

import re
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from portal.accounts.models import AccountState, Role, StaffRole
from portal.extensions import db
from portal.security.encryption import decrypt_text
from tests import factories, scanner
from tests.browser.conftest import new_profile, recording_page
from tests.cards.pki import INSTITUTION_CODE

pytestmark = pytest.mark.browser

WIDTHS = (1280, 390)
PASSWORD = factories.STRONG_PASSWORD
MANAGER = ("wang.virtual01", "王大同", "F131104093")
OLD_MANAGER = ("chen.oldmgr", "陳舊管", "A123456789")
GENERAL_USER = ("lee.nurse", "李護理", "B123456780")
SOLE_MANAGER = ("solo.manager", "林獨管", "A234567893")
HELP_DESK = "desk.huang"

# Elements wider than the window, outermost first, as "tag#id.class (width px)".
_OVERFLOW = """
() => {
  const limit = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width > 0 && box.right > limit + 1) {
      if (wide.some((outer) => outer.contains(el))) continue;
      wide.push(el);
    }
  }
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (typeof el.className === "string" && el.className ? "." + el.classList[0] : "");
  return wide.map((el) => `${name(el)} (${Math.round(el.getBoundingClientRect().right)} px)`);
}
"""


class Camera:
    """Takes a full-page screenshot at each width, and notes what overflows."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.notes: list[str] = []

    def shoot(self, page: Page, name: str) -> None:
        """<name>-1280.png and <name>-390.png of the page as it is now."""
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(150)  # a layout pass after the resize
            page.screenshot(path=self.folder / f"{name}-{width}.png", full_page=True)
            wide = page.evaluate(_OVERFLOW)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if wide or scroll > width:
                self.notes.append(f"{name}-{width}: page {scroll} px wide; {', '.join(wide)}")
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})

    def save_notes(self) -> None:
        """overflow.txt: one line per screen that does not fit."""
        (self.folder / "overflow.txt").write_text("\n".join(self.notes) + "\n")


def seed(portal) -> dict[str, str]:
    """Two institutions: 臺北虛擬診所 (a manager, the old one, a general user) and one whose
    only manager has a general user; two help-desk reviewers. Their authenticator secrets."""
    with portal.app.app_context():
        clinic = factories.institution(code=INSTITUTION_CODE, name="臺北虛擬診所")
        lonely = factories.institution(name="新北單一管理者診所")
        people = (
            (clinic, MANAGER, Role.MANAGER),
            (clinic, OLD_MANAGER, Role.MANAGER),
            (clinic, GENERAL_USER, Role.GENERAL),
            (lonely, SOLE_MANAGER, Role.MANAGER),
            (lonely, ("solo.user", "張同仁", "Y135782908"), Role.GENERAL),
        )
        for place, (username, name, national_id), role in people:
            factories.account(
                institution=place,
                role=role,
                state=AccountState.ACTIVE,
                username=username,
                name=name,
                national_id=national_id,
                department="家醫科",
            )
        secrets = {}
        for suffix in ("a", "b"):
            reviewer = factories.staff(
                StaffRole.HELP_DESK, username=f"{HELP_DESK}.{suffix}", name="黃窗口"
            )
            secrets[reviewer.username] = decrypt_text(reviewer.totp_secret_encrypted)
        db.session.commit()
    return secrets


def person_page(browser: Browser, page_problems) -> Page:
    """Someone else's browser."""
    return recording_page(new_profile(browser, WIDTHS[0]), page_problems)


def sign_in(page: Page, url: str, username: str, totp_secret: str | None = None) -> None:
    """Sign in (with the second factor for staff) and land on 我的帳號."""
    page.goto(f"{url}/login")
    page.get_by_label("帳號").fill(username)
    page.get_by_label("密碼").fill(PASSWORD)
    page.get_by_role("button", name="登入", exact=True).click()
    if totp_secret:
        page.get_by_label("驗證碼").fill(pyotp.TOTP(totp_secret).now())
        page.get_by_role("button", name="驗證", exact=True).click()
    expect(page.get_by_role("heading", name="我的帳號")).to_be_visible()


def file_change(page: Page, url: str, kind: str, target: str) -> str:
    """File a change on /manager-changes/new; its number."""
    page.goto(f"{url}/manager-changes/new")
    page.get_by_label(kind).check()
    page.get_by_label("異動的帳號").select_option(label=target)
    page.get_by_role("button", name="送出異動申請").click()
    expect(page.locator("p.flash")).to_contain_text("已送出異動申請")
    return re.search(r"M\d+", page.locator("h1").inner_text())[0]


def scan_of(page: Page, detail_url: str, folder: Path, name: str) -> Path:
    """The change's printed form, stamped and scanned, as a JPEG file."""
    pdf = page.request.get(f"{detail_url}/form.pdf").body()
    path = folder / name
    path.write_bytes(scanner.jpeg(scanner.scan(pdf)))
    return path


def upload(page: Page, scan: Path) -> None:
    """Choose the file and press 上傳."""
    page.get_by_label("用印後的掃描檔").set_input_files(scan)
    page.get_by_role("button", name="上傳", exact=True).click()


def test_screens(
    card_portal, insert_card, browser: Browser, page: Page, page_problems, tmp_path, artifacts
):
    page_problems.expect_console_error(r"status of 4(01|09|22) ")
    card_portal.app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    url = card_portal.url
    camera = Camera(artifacts / "screens")
    reviewers = seed(card_portal)
    insert_card()

    # The filing form, as a manager sees it, and refused for an institution's only manager.
    sign_in(page, url, MANAGER[0])
    page.goto(f"{url}/manager-changes/new")
    camera.shoot(page, "change-new")
    solo = person_page(browser, page_problems)
    sign_in(solo, url, SOLE_MANAGER[0])
    solo.goto(f"{url}/manager-changes/new")
    solo.get_by_label("B. 停用管理者帳號").check()
    solo.get_by_label("異動的帳號").select_option(label=f"{SOLE_MANAGER[1]}（{SOLE_MANAGER[0]}）")
    solo.get_by_role("button", name="送出異動申請").click()
    expect(solo.locator("#offer-handover")).to_be_visible()
    camera.shoot(solo, "change-new-would-leave-no-manager")
    solo.get_by_role("link", name="改用交接：同時指定接任的管理者").click()
    camera.shoot(solo, "change-new-handover-offered")

    # B for the old manager: the detail page, the card page, a wrong scan, the right one.
    deactivation = file_change(
        page, url, "B. 停用管理者帳號", f"{OLD_MANAGER[1]}（{OLD_MANAGER[0]}）"
    )
    detail_url = page.url
    camera.shoot(page, "change-detail-before-upload")
    page.get_by_role("link", name="以醫事機構卡驗證（立即生效）").click()
    expect(page.locator("#helper-status")).to_have_text("讀卡機與機構卡已就緒，請輸入 PIN 碼。")
    camera.shoot(page, "change-card")

    promotion = file_change(page, url, "C.a 升為管理者", f"{GENERAL_USER[1]}（{GENERAL_USER[0]}）")
    promotion_url = page.url
    promotion_scan = scan_of(page, promotion_url, tmp_path, "promotion.jpg")
    page.goto(detail_url)
    upload(page, promotion_scan)
    expect(page.locator("#scan-error")).not_to_be_empty(timeout=20_000)
    expect(page.locator("#scan")).to_be_focused()  # and so scrolled into view
    camera.shoot(page, "change-detail-upload-error")
    page.goto(detail_url)
    upload(page, scan_of(page, detail_url, tmp_path, "deactivation.jpg"))
    expect(page.locator("p.flash")).to_contain_text("已收到掃描檔", timeout=20_000)
    camera.shoot(page, "change-detail-after-upload")
    page.goto(promotion_url)
    upload(page, promotion_scan)
    expect(page.locator("p.flash")).to_contain_text("已收到掃描檔", timeout=20_000)

    # The help desk: the queue of B filings, the confirmation error, a refusal.
    desk = person_page(browser, page_problems)
    username, secret = next(iter(reviewers.items()))
    sign_in(desk, url, username, secret)
    desk.goto(f"{url}/review")
    camera.shoot(desk, "review-queue")
    desk.get_by_label("類別").select_option(label="B. 停用管理者帳號")
    desk.get_by_role("button", name="篩選").click()
    camera.shoot(desk, "review-queue-kind-deactivate")
    desk.get_by_role("link", name=deactivation).click()
    desk.get_by_role("button", name="核准", exact=True).click()
    expect(desk.locator("#confirm-error")).not_to_be_empty()
    assert desk.evaluate("window.scrollY") > 0, "the answer should open at the decision"
    camera.shoot(desk, "review-change-confirm-error")
    desk.goto(f"{url}/review?kind=promote")
    desk.get_by_role("link", name=promotion).click()
    desk.get_by_role("button", name="不核准", exact=True).click()
    expect(desk.locator("#reason-error")).not_to_be_empty()
    camera.shoot(desk, "review-change-reason-error")
    desk.get_by_label("不核准的原因").fill("掃描檔上未蓋負責人章，請補蓋後重新上傳。")
    desk.get_by_role("button", name="不核准", exact=True).click()
    expect(desk.locator("p.flash")).to_contain_text("已不核准")

    # The filer again: the list, 我的帳號, the refused filing.
    page.goto(f"{url}/manager-changes")
    camera.shoot(page, "change-list")
    page.goto(f"{url}/account")
    camera.shoot(page, "account-changes")
    page.goto(promotion_url)
    camera.shoot(page, "change-detail-refused")

    # 申請進度查詢 by someone not signed in.
    visitor = person_page(browser, page_problems)
    for number, name in ((deactivation, "status-change-review"), (promotion, "status-refused")):
        visitor.goto(f"{url}/applications/status")
        visitor.get_by_label("申請編號").fill(number)
        visitor.get_by_label("身分證字號").fill(MANAGER[2])
        visitor.get_by_role("button", name="查詢").click()
        expect(visitor.locator("#status-result")).to_be_visible()
        camera.shoot(visitor, name)

    # A few in English, for text that escaped translation.
    page.get_by_role("link", name="English").click()
    for path, name in (
        ("/manager-changes/new", "en-change-new"),
        (detail_url.removeprefix(url), "en-change-detail"),
        ("/account", "en-account"),
    ):
        page.goto(f"{url}{path}")
        camera.shoot(page, name)
    desk.goto(f"{url}/language/en?next=/review?kind=deactivate")
    camera.shoot(desk, "en-review-queue")
    camera.save_notes()
