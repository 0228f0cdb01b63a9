"""Master data in Chromium: an administrator adds a clinic that an applicant then chooses,
imports a list, deactivates an institution, and declares a typhoon day after seeing which
due dates it moves. Every page and every HTMX swap is checked with axe-core."""

import re
from datetime import datetime

import pyotp
import pytest
from playwright.sync_api import Page, expect

from portal.accounts.models import Role, StaffRole
from portal.extensions import db
from portal.localtime import TAIPEI
from portal.registration.models import ApplicationState
from portal.security.encryption import decrypt_text
from tests import factories

pytestmark = pytest.mark.browser

TYPING_DELAY_MS = 30
CLINIC_CODE = "3599900001"
CLINIC_NAME = "新竹新約診所"


def seed_admin(live_app) -> tuple[str, str]:
    """Commit a portal administrator; their account name and authenticator secret."""
    with live_app.app_context():
        admin = factories.staff(StaffRole.PORTAL_ADMIN, username="admin.lin")
        db.session.commit()
        return admin.username, decrypt_text(admin.totp_secret_encrypted)


def sign_in_staff(page: Page, url: str, username: str, secret: str) -> None:
    """Sign in with password and authenticator code, as staff do."""
    page.goto(f"{url}/login")
    page.get_by_label("帳號").fill(username)
    page.get_by_label("密碼").fill(factories.STRONG_PASSWORD)
    page.get_by_role("button", name="登入", exact=True).click()
    page.get_by_label("驗證碼").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="驗證", exact=True).click()
    expect(page.locator("#main-nav").get_by_role("button", name="登出")).to_be_visible()


def test_an_administrator_adds_a_clinic_that_an_applicant_then_chooses(
    live_server, live_app, page: Page, second_page: Page, page_problems, axe_check, artifacts
):
    sign_in_staff(page, live_server, *seed_admin(live_app))
    page.locator("#main-nav").get_by_role("link", name="機構管理").click()
    expect(page.get_by_role("heading", name="機構管理", level=1)).to_be_visible()
    axe_check(page)
    page.get_by_role("link", name="新增機構").click()
    axe_check(page)

    # A wrong code first: said next to the field, the rest kept.
    page_problems.expect_console_error(r"status of 422 .*/admin/institutions/new\)$")
    page.get_by_label("機構代碼").fill("35999")
    page.get_by_label("機構名稱").fill(CLINIC_NAME)
    page.get_by_label("機構類別").select_option("診所")
    page.get_by_label("縣市").select_option("新竹市")
    page.get_by_role("button", name="新增", exact=True).click()
    expect(page.locator("#code-error")).to_have_text("醫事機構代碼為 10 位數字。")
    expect(page.locator(".error-summary")).to_be_focused()
    expect(page.get_by_label("機構名稱")).to_have_value(CLINIC_NAME)
    axe_check(page, "the refused form")
    page.screenshot(path=artifacts / "admin-institution-new-error.png", full_page=True)

    page.get_by_label("機構代碼").fill(CLINIC_CODE)
    page.get_by_role("button", name="新增", exact=True).click()
    expect(page.locator("p.flash")).to_have_text(f"已新增 {CLINIC_NAME}（{CLINIC_CODE}）。")
    expect(page.locator("#institution-state")).to_have_text("使用中")
    axe_check(page)

    # Another person, at once: the picker finds the clinic by name and it can be chosen.
    applicant = second_page
    applicant.goto(f"{live_server}/register")
    search = applicant.locator("#institution_code")
    search.press_sequentially("新約", delay=TYPING_DELAY_MS)
    option = applicant.locator("#institution-results .option", has_text=CLINIC_NAME)
    expect(option).to_be_visible()
    axe_check(applicant, "the picker's options")
    option.click()
    expect(applicant.locator("#institution-name")).to_have_text(
        f"已選擇：{CLINIC_NAME}（{CLINIC_CODE}）"
    )
    expect(search).to_have_value(CLINIC_CODE)
    applicant.get_by_label("單位業務管理者").check()
    applicant.locator("#username").fill("chen.newclinic")
    applicant.locator("#password").fill(factories.STRONG_PASSWORD)
    applicant.locator("#password_confirm").fill(factories.STRONG_PASSWORD)
    applicant.locator("#national_id").fill("A123456789")
    applicant.locator("#name").fill("陳新約")
    applicant.locator("#phone").fill("03-5123456")
    applicant.locator("#email").fill("chen@newclinic.example.org")
    applicant.get_by_role("button", name="送出申請").click()
    expect(applicant.locator("#application-no")).to_have_text(re.compile(r"^\d{14}$"))
    applicant.screenshot(path=artifacts / "registration-new-clinic.png", full_page=True)


def test_a_deactivated_institution_is_named_as_inactive_in_the_picker(
    live_server, live_app, page: Page, second_page: Page, axe_check, artifacts
):
    with live_app.app_context():
        clinic = factories.institution(code="3599900002", name="歇業示範診所")
        db.session.commit()
        clinic_id = clinic.id
    sign_in_staff(page, live_server, *seed_admin(live_app))
    page.goto(f"{live_server}/admin/institutions")
    page.get_by_label("機構代碼或名稱").press_sequentially("歇業示範", delay=TYPING_DELAY_MS)
    # The live search swaps the list in place and says how many it found.
    expect(page.locator("#institution-count")).to_have_text("找到 1 個機構。")
    expect(page.locator("#live-status")).to_have_text("找到 1 個機構。")
    axe_check(page, "after the live search")
    page.get_by_role("link", name="3599900002").click()
    expect(page).to_have_url(f"{live_server}/admin/institutions/{clinic_id}")
    page.get_by_role("button", name="停用這個機構").click()
    expect(page.locator("p.flash")).to_have_text("已停用 歇業示範診所，不再接受新的帳號申請。")
    expect(page.locator("#institution-state")).to_contain_text("已停用")
    axe_check(page)

    second_page.goto(f"{live_server}/register")
    second_page.locator("#institution_code").press_sequentially("3599900002", delay=TYPING_DELAY_MS)
    inactive = second_page.locator("#institution-inactive")
    expect(inactive).to_have_text(
        "「歇業示範診所」（3599900002）已停用，不能申請帳號。如機構仍在營業，請洽系統服務窗口。"
    )
    expect(second_page.locator("#institution-results")).not_to_contain_text("查無")
    axe_check(second_page, "an inactive institution in the picker")
    second_page.screenshot(path=artifacts / "registration-inactive-institution.png", full_page=True)


def test_a_csv_upload_lists_the_rows_it_skipped(
    live_server, live_app, page: Page, axe_check, artifacts, tmp_path
):
    listing = tmp_path / "機構清單.csv"
    listing.write_text(
        "機構代碼,機構名稱,機構類別,縣市\n"
        "3599900011,苗栗新約衛生所,衛生所,苗栗縣\n"
        "39991,壞代碼診所,診所,新竹市\n",
        encoding="utf-8-sig",
    )
    sign_in_staff(page, live_server, *seed_admin(live_app))
    page.goto(f"{live_server}/admin/institutions")
    page.get_by_role("link", name="匯入 CSV 清單").click()
    axe_check(page)
    page.get_by_label("CSV 檔").set_input_files(listing)
    page.get_by_role("button", name="匯入", exact=True).click()
    expect(page.locator("#import-summary")).to_have_text(
        "新增 1 筆、更新 0 筆、未變更 0 筆；略過有誤的 1 列。"
    )
    bad = page.locator("#bad-rows")
    expect(bad.get_by_role("row")).to_have_count(2)
    expect(bad).to_contain_text("第 3 行")
    expect(bad).to_contain_text("須為 10 位數字")
    axe_check(page, "the import's report")
    page.screenshot(path=artifacts / "admin-institution-import.png", full_page=True)


def test_a_typhoon_day_shows_the_due_dates_it_moves_before_it_is_saved(
    live_server, live_app, page: Page, axe_check, artifacts
):
    with live_app.app_context():
        manager = factories.account(role=Role.MANAGER, national_id="B123456780")
        application = factories.application(
            manager,
            state=ApplicationState.AWAITING_PAPER_REVIEW,
            step_started_at=datetime(2026, 8, 31, 10, tzinfo=TAIPEI),
        )
        number = application.application_no
        db.session.commit()
    sign_in_staff(page, live_server, *seed_admin(live_app))
    page.locator("#main-nav").get_by_role("link", name="工作日曆").click()
    expect(page.locator("#no-overrides")).to_be_visible()
    axe_check(page)

    page.get_by_label("日期").fill("2026-09-01")
    page.get_by_label("停止上班").check()
    impact = page.locator("#calendar-impact")
    expect(impact.locator("#impact-count")).to_have_text("1 件待辦申請的期限會改變：")
    row = impact.get_by_role("row", name=re.compile(number))
    expect(row).to_contain_text("2026-09-03")
    expect(row).to_contain_text("2026-09-04")
    expect(page.locator("#live-status")).to_have_text("1 件待辦申請的期限會改變。")
    axe_check(page, "after the preview swap")
    page.screenshot(path=artifacts / "admin-calendar-preview.png", full_page=True)

    page.get_by_label("原因").fill("颱風停止上班")
    page.get_by_role("button", name="儲存").click()
    expect(page.locator("p.flash")).to_have_text(
        "已將 2026-09-01 設為停止上班。 1 件待辦申請的期限因此改變。"
    )
    expect(page.locator("#overrides")).to_contain_text("颱風停止上班")
    axe_check(page)
