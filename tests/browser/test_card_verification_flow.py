"""醫事機構卡驗證 in a real browser: apply as a unit manager, verify with the card, sign in.

The whole chain is real: Chromium runs the portal's card.js, which calls the card helper
(`python -m card_helper --backend pcsc`) on 127.0.0.1; the helper talks to pcscd, whose
vpcd reader holds the virtual card with a key and certificate from the test CA for
3501200000; the portal checks the signature against that CA.
"""

import base64
import re

import pytest
from playwright.sync_api import Page, expect

from portal.extensions import db
from tests import factories
from tests.cards.pki import INSTITUTION_CODE
from tests.cards.stack import CARD_PIN

pytestmark = pytest.mark.browser

TYPING_DELAY_MS = 30
INSTITUTION_NAME = "臺北虛擬診所"
USERNAME = "wang.virtual01"
EMAIL = "wang@example.org"
WRONG_PIN = "000000"
# Signing with the card goes browser -> helper -> pcscd -> vpcd -> the card process and
# back; it is quick, but slower than a page of the portal.
CARD_TIMEOUT_MS = 20_000


def seed_card_institution(portal) -> None:
    """Commit 臺北虛擬診所, the institution on the virtual card's certificate."""
    with portal.app.app_context():
        factories.institution(code=INSTITUTION_CODE, name=INSTITUTION_NAME)
        db.session.commit()


def apply_as_manager(page: Page, portal_url: str) -> str:
    """Fill in 帳號申請 as a unit manager of 3501200000, submit; the application number."""
    page.goto(f"{portal_url}/register")
    expect(page.get_by_role("heading", name="帳號申請")).to_be_visible()
    page.locator("#institution_code").press_sequentially(INSTITUTION_CODE, delay=TYPING_DELAY_MS)
    expect(page.locator("#institution-name")).to_contain_text(INSTITUTION_NAME)
    page.get_by_label("單位業務管理者").check()
    page.locator("#username").press_sequentially(USERNAME, delay=TYPING_DELAY_MS)
    page.locator("#password").press_sequentially(factories.STRONG_PASSWORD, delay=TYPING_DELAY_MS)
    expect(page.locator("#password-strength")).to_have_text("強")
    page.locator("#password_confirm").press_sequentially(
        factories.STRONG_PASSWORD, delay=TYPING_DELAY_MS
    )
    page.locator("#national_id").fill("F131104093")
    page.locator("#name").fill("王大同")
    page.locator("#phone").fill("02-23456789")
    page.locator("#email").fill(EMAIL)
    page.get_by_role("button", name="送出申請").click()

    number = page.locator("#application-no")
    expect(number).to_have_text(re.compile(r"^\d{14}$"))
    return number.inner_text()


def test_manager_verifies_with_the_institution_card_and_signs_in(
    card_portal, insert_card, page: Page, page_problems, smtp_sink, artifacts, axe_check
):
    seed_card_institution(card_portal)
    insert_card()
    application_no = apply_as_manager(page, card_portal.url)
    [submitted_mail] = smtp_sink.wait_for(1)
    assert application_no in submitted_mail["Subject"]

    page.locator("#verify-with-card").click()
    expect(page).to_have_url(f"{card_portal.url}/verification")
    expect(page.get_by_role("heading", name="醫事機構卡驗證")).to_be_visible()
    expect(
        page.get_by_text(f"申請編號 {application_no}，{INSTITUTION_NAME}（{INSTITUTION_CODE}）")
    ).to_be_visible()
    # On arrival the page asks the helper whether the reader and the card are there.
    expect(page.locator("#helper-status")).to_have_text("讀卡機與機構卡已就緒，請輸入 PIN 碼。")
    axe_check(page)
    pin = page.get_by_label("機構卡 PIN 碼")
    verify = page.get_by_role("button", name="驗證機構卡")
    pin_error = page.locator("#pin-error")

    # Too short a PIN is caught by the page; nothing is sent to the helper or the card.
    pin.press_sequentially("12", delay=TYPING_DELAY_MS)
    verify.click()
    expect(pin_error).to_have_text("請輸入機構卡的 PIN 碼（4 到 16 碼）。")
    pin.fill("")

    # A wrong PIN: the card refuses it, the helper answers 422, the page says what is left.
    page_problems.expect_console_error(r"status of 422 .*/v1/sign\)$")
    pin.press_sequentially(WRONG_PIN, delay=TYPING_DELAY_MS)
    verify.click()
    expect(pin_error).to_have_text(
        "PIN 碼錯誤，還可以再試 2 次；次數用完卡片會被鎖住。", timeout=CARD_TIMEOUT_MS
    )
    expect(pin).to_have_value("")
    expect(verify).to_be_enabled()
    expect(page.locator("#helper-missing")).to_be_hidden()
    expect(page).to_have_url(f"{card_portal.url}/verification")
    axe_check(page, "a wrong PIN")

    pin.press_sequentially(CARD_PIN, delay=TYPING_DELAY_MS)
    page.screenshot(path=artifacts / "card-verification.png", full_page=True)
    verify.click()
    expect(page).to_have_url(f"{card_portal.url}/verification/done", timeout=CARD_TIMEOUT_MS)
    expect(page.locator("#verification-result")).to_have_text(
        "您的單位業務管理者帳號已啟用，請以申請的帳號登入。"
    )
    axe_check(page)
    _, verified = smtp_sink.wait_for(2)
    assert verified["To"] == EMAIL and "管理者帳號已啟用" in verified["Subject"]

    page.get_by_role("link", name="前往登入").click()
    expect(page.get_by_role("heading", name="服務登入")).to_be_visible()
    page.get_by_label("帳號").press_sequentially(USERNAME, delay=TYPING_DELAY_MS)
    page.get_by_label("密碼").press_sequentially(factories.STRONG_PASSWORD, delay=TYPING_DELAY_MS)
    page.get_by_role("button", name="登入", exact=True).click()
    expect(page).to_have_url(f"{card_portal.url}/account")
    expect(page.locator("#account-role")).to_have_text("單位業務管理者")
    expect(page.locator("#profile")).to_contain_text(f"{INSTITUTION_NAME}（{INSTITUTION_CODE}）")
    nav = page.locator("#main-nav")
    expect(nav.get_by_role("link", name="帳號審核")).to_be_visible()
    expect(nav.get_by_role("button", name="登出")).to_be_visible()
    page.screenshot(path=artifacts / "manager-signed-in.png", full_page=True)


def test_without_the_helper_the_page_says_how_to_start_it(
    card_portal_without_helper, page: Page, page_problems, artifacts, axe_check
):
    portal = card_portal_without_helper
    seed_card_institution(portal)
    apply_as_manager(page, portal.url)
    page.locator("#verify-with-card").click()
    expect(page).to_have_url(f"{portal.url}/verification")
    missing = page.locator("#helper-missing")

    # The page asks the helper on arrival; the fetch to the closed port fails, the browser
    # logs that, and the page explains at once, before any PIN is typed.
    page_problems.expect_console_error(r"ERR_CONNECTION_REFUSED.*/v1/(status|sign)\)$")
    expect(missing).to_be_visible()
    expect(page.locator("#helper-status")).to_be_hidden()
    # Started meanwhile? Pressing the button tries again, and says the same if it still fails.
    page.get_by_label("機構卡 PIN 碼").press_sequentially(CARD_PIN, delay=TYPING_DELAY_MS)
    page.get_by_role("button", name="驗證機構卡").click()
    expect(missing).to_be_visible()
    expect(missing).to_contain_text("找不到本機的讀卡程式。請確認已安裝並啟動：")
    expect(missing.locator("pre")).to_have_text(f"python -m card_helper --origin {portal.url}")
    expect(missing).to_contain_text("啟動後重新整理這一頁再驗證；或改用紙本審核。")
    expect(page.locator("#pin-error")).to_be_empty()
    expect(page.get_by_role("button", name="驗證機構卡")).to_be_enabled()
    axe_check(page, "no helper")
    page.screenshot(path=artifacts / "card-helper-missing.png", full_page=True)

    paper = page.get_by_role("link", name="沒有機構卡或驗證失敗？改用紙本審核")
    expect(paper).to_have_attribute("href", "/verification/paper")
    paper.click()
    expect(page).to_have_url(f"{portal.url}/verification/paper")
    expect(page.get_by_role("heading", name="紙本審核")).to_be_visible()


def test_the_page_shows_whether_a_card_is_in_the_reader(
    card_portal, page: Page, page_problems, insert_card
):
    seed_card_institution(card_portal)
    apply_as_manager(page, card_portal.url)
    page.locator("#verify-with-card").click()
    status = page.locator("#helper-status")
    # The helper is running and the virtual reader is there, but no card is in it.
    expect(status).to_have_text("讀卡機裡沒有醫事機構卡，請插入機構卡後再試一次。")
    insert_card()
    page.reload()
    expect(status).to_have_text("讀卡機與機構卡已就緒，請輸入 PIN 碼。")


# What a script on the portal's page could try to have the card sign instead of the challenge.
A_PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def test_the_helper_signs_only_the_portals_challenge(
    card_portal, insert_card, page: Page, page_problems
):
    seed_card_institution(card_portal)
    insert_card()
    apply_as_manager(page, card_portal.url)
    page.locator("#verify-with-card").click()
    expect(page.locator("#helper-status")).to_have_text("讀卡機與機構卡已就緒，請輸入 PIN 碼。")
    # Swap the page's challenge for a document, as an injected script could.
    page.locator("#card-form").evaluate(
        "(form, data) => { form.dataset.challenge = data; }", base64.b64encode(A_PDF).decode()
    )
    page_problems.expect_console_error(r"status of 400 .*/v1/sign\)$")
    pin = page.get_by_label("機構卡 PIN 碼")
    pin.press_sequentially(CARD_PIN, delay=TYPING_DELAY_MS)
    page.get_by_role("button", name="驗證機構卡").click()
    expect(page.locator("#pin-error")).to_have_text(
        "讀卡程式只簽署入口網站發出的驗證碼，已拒絕這次的簽章要求。請重新整理這一頁後再驗證一次；"
        "若一再發生，請改用紙本審核，並通知系統服務窗口。",
        timeout=CARD_TIMEOUT_MS,
    )
    expect(page).to_have_url(f"{card_portal.url}/verification")

    # The page's own challenge, after a reload, is signed and accepted.
    page.reload()
    pin.press_sequentially(CARD_PIN, delay=TYPING_DELAY_MS)
    page.get_by_role("button", name="驗證機構卡").click()
    expect(page).to_have_url(f"{card_portal.url}/verification/done", timeout=CARD_TIMEOUT_MS)
