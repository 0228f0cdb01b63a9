"""公告事項 in a real browser: a portal administrator writes an announcement with an attachment,
previews it and publishes it; a visitor finds it by keyword and downloads the attachment
under its Chinese name."""

from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Page, expect

from portal.accounts.models import StaffRole
from portal.extensions import db
from portal.security.encryption import decrypt_text
from tests import factories

pytestmark = pytest.mark.browser

ADMIN = "site.admin"
TITLE = "颱風停班期間系統照常運作"
ATTACHMENT = "颱風期間作業說明.pdf"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
WIDTHS = (1280, 390)


def seed(live_app) -> str:
    """Commit a portal administrator; the secret of their authenticator."""
    with live_app.app_context():
        admin = factories.staff(StaffRole.PORTAL_ADMIN, username=ADMIN, name="網站管理員")
        db.session.commit()
        return decrypt_text(admin.totp_secret_encrypted)


def sign_in(page: Page, url: str, secret: str) -> None:
    page.goto(f"{url}/login")
    page.get_by_label("帳號").fill(ADMIN)
    page.get_by_label("密碼").fill(factories.STRONG_PASSWORD)
    page.get_by_role("button", name="登入", exact=True).click()
    page.get_by_label("驗證碼").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="驗證", exact=True).click()
    expect(page.get_by_role("heading", name="我的帳號")).to_be_visible()


def shoot(page: Page, folder: Path, name: str) -> None:
    """The page at each width the site is checked at."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=folder / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def test_publish_an_announcement_and_a_visitor_downloads_its_attachment(
    live_server, live_app, page: Page, second_page: Page, page_problems, artifacts, tmp_path
):
    live_app.config["CONTENT_UPLOAD_DIR"] = str(tmp_path / "content-files")
    secret = seed(live_app)
    sign_in(page, live_server, secret)
    page.locator("#main-nav").get_by_role("link", name="網站內容管理").click()
    page.locator("#content-kinds").get_by_role("link", name="公告事項").click()
    page.get_by_role("link", name="新增公告").click()

    # Refused without a title: the message next to the field, the text kept.
    page.get_by_label("內容（Markdown）").fill(
        "系統**照常**運作。\n\n- 紙本審核順延\n- 機構卡驗證不受影響"
    )
    page_problems.expect_console_error(r"status of 422 .*/announcement/new\)$")
    page.get_by_role("button", name="儲存").click()
    expect(page.locator("#title-error")).to_have_text("請輸入標題。")
    shoot(page, artifacts, "content-admin-refused")
    expect(page.get_by_label("內容（Markdown）")).to_have_value(
        "系統**照常**運作。\n\n- 紙本審核順延\n- 機構卡驗證不受影響"
    )

    page.get_by_label("標題").fill(TITLE)
    page.get_by_label("分類").select_option(label="系統公告")
    page.get_by_role("button", name="預覽").click()
    preview = page.locator("#preview")
    expect(preview.locator("strong")).to_have_text("照常")
    expect(preview.locator("li")).to_have_count(2)
    shoot(page, artifacts, "content-admin-preview")

    page.get_by_label("附件").set_input_files(
        files=[{"name": ATTACHMENT, "mimeType": "application/pdf", "buffer": PDF}]
    )
    page.get_by_role("button", name="儲存").click()
    expect(page.locator("p.flash")).to_have_text(f"已新增「{TITLE}」。")
    expect(page.locator("#item-state")).to_have_text("草稿")
    expect(page.locator("#file-list")).to_contain_text(ATTACHMENT)
    page.get_by_role("button", name="立即上架").click()
    expect(page.locator("#item-state")).to_have_text("上架中")
    shoot(page, artifacts, "content-admin-edit")
    page.get_by_role("link", name="版本紀錄").click()
    expect(page.locator("section.version")).to_have_count(3)
    shoot(page, artifacts, "content-admin-history")
    page.goto(f"{live_server}/admin/content/announcement")
    expect(page.locator("#content-items")).to_contain_text(TITLE)
    shoot(page, artifacts, "content-admin-list")

    visitor = second_page
    visitor.goto(f"{live_server}/")
    expect(visitor.locator("#home-announcements")).to_contain_text(TITLE)
    visitor.locator("#public-nav").get_by_role("link", name="公告事項").click()
    visitor.get_by_label("關鍵字").fill("颱風")
    visitor.get_by_role("button", name="查詢").click()
    expect(visitor).to_have_url(
        f"{live_server}/announcements?category=&system=&q=%E9%A2%B1%E9%A2%A8"
    )
    rows = visitor.locator("#announcement-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("系統公告")
    shoot(visitor, artifacts, "announcements-found")
    rows.first.get_by_role("link", name=TITLE).click()
    expect(visitor.locator("#announcement-title")).to_have_text(TITLE)
    expect(visitor.locator("#breadcrumbs")).to_contain_text("公告事項")
    shoot(visitor, artifacts, "announcement-page")
    with visitor.expect_download() as download:
        visitor.get_by_role("link", name=ATTACHMENT).click()
    assert download.value.suggested_filename == ATTACHMENT
    assert Path(download.value.path()).read_bytes() == PDF

    # Nothing matches: said in words, in the same place.
    visitor.goto(f"{live_server}/announcements")
    visitor.get_by_label("關鍵字").fill("地震")
    visitor.get_by_role("button", name="查詢").click()
    expect(visitor.locator("#announcements-empty")).to_contain_text("查無符合條件的公告")
