"""帳號申請 in a real browser: the form filled in as a person would, against the live server."""

import re

import pytest
from playwright.sync_api import Page, expect

from portal.extensions import db
from tests import factories

pytestmark = pytest.mark.browser

# What a person types between keys; small, so the live checks still debounce.
TYPING_DELAY_MS = 30
INSTITUTION_NAME = "臺北北投示範診所"
INVALID_NATIONAL_ID = "A123456788"  # the checksum digit is wrong
VALID_NATIONAL_ID = "A123456789"


def seed_institution(live_app, **values) -> tuple[str, str]:
    """Commit an institution to the live server's database; its code and name."""
    with live_app.app_context():
        institution = factories.institution(**values)
        code, name = institution.code, institution.name
        db.session.commit()
    return code, name


def test_manager_applies_through_the_form(
    live_server, live_app, page: Page, page_problems, smtp_sink, artifacts, axe_check
):
    code, name = seed_institution(live_app, name=INSTITUTION_NAME)
    page.goto(f"{live_server}/register")
    expect(page.get_by_role("heading", name="帳號申請")).to_be_visible()

    # The institution: part of its name, then the keyboard picks it from the list.
    search = page.locator("#institution_code")
    search.press_sequentially("北投示範", delay=TYPING_DELAY_MS)
    option = page.locator("#institution-results .option", has_text=name)
    expect(option).to_be_visible()
    expect(search).to_have_attribute("aria-expanded", "true")
    search.press("ArrowDown")
    expect(option).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#institution-name")).to_contain_text(name)
    expect(page.locator("#institution-name")).to_contain_text(code)
    expect(search).to_have_value(code)
    expect(page).to_have_url(f"{live_server}/register")  # picked in place, not followed

    page.get_by_label("單位業務管理者").check()
    expect(page.locator("#role-error")).to_be_empty()
    page.locator("#username").press_sequentially("chen.clinic01", delay=TYPING_DELAY_MS)

    # The meter follows the typing: refused at first, strong once the password is complete.
    password = page.locator("#password")
    strength = page.locator("#password-strength")
    password.press_sequentially(factories.STRONG_PASSWORD[:3], delay=TYPING_DELAY_MS)
    expect(strength).to_have_text("不符合規則")
    password.press_sequentially(factories.STRONG_PASSWORD[3:], delay=TYPING_DELAY_MS)
    expect(strength).to_have_text("強")
    expect(page.locator("#password-meter li.unmet")).to_have_count(0)

    page.get_by_role("button", name="顯示密碼").click()
    expect(password).to_have_attribute("type", "text")
    expect(password).to_have_value(factories.STRONG_PASSWORD)
    expect(page.locator("#password_confirm")).to_have_attribute("type", "text")
    toggle = page.get_by_role("button", name="隱藏密碼")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(password).to_have_attribute("type", "password")
    expect(page.get_by_role("button", name="顯示密碼")).to_have_attribute("aria-pressed", "false")

    page.locator("#password_confirm").press_sequentially(
        factories.STRONG_PASSWORD, delay=TYPING_DELAY_MS
    )
    page.locator("#national_id").fill(INVALID_NATIONAL_ID)
    page.locator("#name").fill("陳小明")
    page.locator("#phone").fill("02-12345678#123")
    page.locator("#mobile").fill("0912-345678")
    page.locator("#email").fill("chen@example.org")
    page.get_by_label("戒菸服務系統").check()

    # A wrong ID number comes back next to its field; everything else but the password stays.
    page_problems.expect_console_error(r"status of 422 .*/register\)$")
    page.get_by_role("button", name="送出申請").click()
    error = page.locator("#national_id-error")
    expect(error).to_contain_text("身分證字號或居留證號格式不正確")
    expect(page.locator("#national_id")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#name")).to_have_value("陳小明")
    expect(page.locator("#email")).to_have_value("chen@example.org")
    expect(page.locator("#username")).to_have_value("chen.clinic01")
    expect(search).to_have_value(code)
    expect(page.locator("#institution-name")).to_contain_text(name)
    expect(page.get_by_label("單位業務管理者")).to_be_checked()
    expect(page.get_by_label("戒菸服務系統")).to_be_checked()
    expect(password).to_have_value("")
    expect(page.locator("#password_confirm")).to_have_value("")
    expect(strength).to_have_text("（尚未輸入）")
    axe_check(page, "the refused application")
    page.screenshot(path=artifacts / "registration-error.png", full_page=True)

    page.locator("#national_id").fill(VALID_NATIONAL_ID)
    password.press_sequentially(factories.STRONG_PASSWORD, delay=TYPING_DELAY_MS)
    expect(strength).to_have_text("強")
    page.locator("#password_confirm").press_sequentially(
        factories.STRONG_PASSWORD, delay=TYPING_DELAY_MS
    )
    page.screenshot(path=artifacts / "registration-form.png", full_page=True)
    page.get_by_role("button", name="送出申請").click()

    number = page.locator("#application-no")
    expect(number).to_have_text(re.compile(r"^\d{14}$"))
    expect(page).to_have_url(f"{live_server}/register/submitted")
    application_no = number.inner_text()
    axe_check(page)
    page.screenshot(path=artifacts / "registration.png", full_page=True)

    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "chen@example.org"
    assert application_no in mail["Subject"]
    assert application_no in mail.get_content()


def test_general_user_at_institution_without_manager_is_told_at_once(
    live_server, live_app, page: Page
):
    code, name = seed_institution(live_app, name="臺北無管理者示範診所")
    page.goto(f"{live_server}/register")

    page.locator("#institution_code").press_sequentially(code, delay=TYPING_DELAY_MS)
    expect(page.locator("#institution-name")).to_contain_text(name)
    page.get_by_label("一般使用者").check()

    role_error = page.locator("#role-error")
    expect(role_error).to_contain_text("此機構尚無單位業務管理者")
    expect(role_error).to_have_attribute("role", "alert")
    expect(page.get_by_label("一般使用者")).to_be_checked()
    expect(page).to_have_url(f"{live_server}/register")  # nothing was submitted


def test_role_check_follows_the_confirmed_institution(live_server, live_app, page: Page):
    lonely_code, _ = seed_institution(live_app, name="臺北無管理者示範診所")
    with live_app.app_context():
        staffed = factories.institution(name="臺北有管理者示範診所")
        factories.active_manager(staffed)
        staffed_code = staffed.code
        db.session.commit()
    page.goto(f"{live_server}/register")

    page.get_by_label("一般使用者").check()
    role_error = page.locator("#role-error")
    expect(role_error).to_be_empty()
    search = page.locator("#institution_code")
    search.press_sequentially(lonely_code, delay=TYPING_DELAY_MS)
    expect(role_error).to_contain_text("此機構尚無單位業務管理者")

    search.fill("")
    search.press_sequentially(staffed_code, delay=TYPING_DELAY_MS)
    expect(page.locator("#institution-name")).to_contain_text("臺北有管理者示範診所")
    expect(role_error).to_be_empty()
    expect(page.get_by_label("一般使用者")).to_be_checked()
