"""The card page as a clerk meets it: every state the helper can report has its sentence and
next step, the PIN field and the button wait for the helper, and the page notices by itself
when the helper, the reader or the card comes.

Real parts throughout: Chromium runs card.js against `python -m card_helper` on the PC/SC
stack (pcscd, vpcd, the virtual card), as in test_card_verification_flow.py.
"""

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import Page, expect

from card_helper import __version__
from tests.browser.conftest import CardPortal, _serve_card_portal
from tests.browser.test_card_verification_flow import (
    CARD_TIMEOUT_MS,
    TYPING_DELAY_MS,
    WRONG_PIN,
    apply_as_manager,
    seed_card_institution,
)
from tests.cards.stack import CARD_PIN, helper_process

pytestmark = pytest.mark.browser

READY = "讀卡機與機構卡已就緒，請輸入 PIN 碼。"
NO_CARD = "讀卡機裡沒有機構卡，請插入機構卡（晶片朝上、朝內）；插入後這一頁會自動偵測。"
# The page asks again after 1, 2, 4, then every 5 seconds.
NOTICED_MS = 12_000


def open_card_page(page: Page, portal: CardPortal) -> None:
    seed_card_institution(portal)
    apply_as_manager(page, portal.url)
    page.locator("#verify-with-card").click()
    expect(page).to_have_url(f"{portal.url}/verification")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def late_helper_portal(fresh_database, smtp_sink, card_trust_anchors_dir, pcsc_stack, tmp_path):
    """The portal, pointing at a port where the helper is started only when the test says."""
    port = free_port()
    started: dict[str, object] = {}

    @contextmanager
    def not_yet(origin: str) -> Iterator[str]:
        started["origin"] = origin
        yield f"http://127.0.0.1:{port}"

    with _serve_card_portal(
        fresh_database, smtp_sink.port, card_trust_anchors_dir, not_yet
    ) as portal:

        @contextmanager
        def start_helper() -> Iterator[None]:
            with helper_process(str(started["origin"]), tmp_path, port=port):
                yield

        yield portal, start_helper


def test_before_the_helper_answers_the_clerk_is_told_what_to_install(
    late_helper_portal, insert_card, page: Page, page_problems, artifacts
):
    portal, start_helper = late_helper_portal
    insert_card()
    page_problems.expect_console_error(r"ERR_CONNECTION_REFUSED.*/v1/status\)$")
    open_card_page(page, portal)
    pin = page.get_by_label("機構卡 PIN 碼")
    verify = page.get_by_role("button", name="驗證機構卡")
    missing = page.locator("#helper-missing")
    expect(missing).to_be_visible()
    expect(missing).to_contain_text("這台電腦還沒有啟動「機構卡讀卡程式」，所以還不能輸入 PIN 碼。")
    expect(missing).to_contain_text("請到下載專區下載「機構卡驗證元件」")
    expect(missing.locator("pre")).to_have_count(0)
    expect(page.locator("body")).not_to_contain_text("python -m card_helper")
    expect(pin).to_be_disabled()
    expect(verify).to_be_disabled()
    expect(missing.get_by_role("link", name="前往下載專區")).to_have_attribute("href", "/downloads")
    expect(missing.get_by_role("link", name="安裝說明")).to_have_attribute(
        "href", "/verification/card-helper"
    )
    page.screenshot(path=artifacts / "card-helper-not-running.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=artifacts / "card-helper-not-running-390.png", full_page=True)

    # The clinic starts the helper: the page connects without a reload.
    with start_helper():
        expect(page.locator("#helper-status")).to_have_text(READY, timeout=NOTICED_MS)
        expect(missing).to_be_hidden()
        expect(pin).to_be_enabled()
        expect(verify).to_be_enabled()
        pin.press_sequentially(CARD_PIN, delay=TYPING_DELAY_MS)
        verify.click()
        expect(page).to_have_url(f"{portal.url}/verification/done", timeout=CARD_TIMEOUT_MS)


@pytest.fixture
def old_helper_portal(fresh_database, smtp_sink, card_trust_anchors_dir, pcsc_stack, tmp_path):
    """The portal expecting a helper newer than the one installed."""

    @contextmanager
    def running_helper(origin: str) -> Iterator[str]:
        with helper_process(origin, tmp_path) as helper:
            yield helper.url

    with _serve_card_portal(
        fresh_database,
        smtp_sink.port,
        card_trust_anchors_dir,
        running_helper,
        CARD_HELPER_MIN_VERSION="9.0.0",
    ) as portal:
        yield portal


def test_a_helper_older_than_expected_is_named_with_what_to_do(
    old_helper_portal, insert_card, page: Page, page_problems, artifacts
):
    insert_card()
    open_card_page(page, old_helper_portal)
    old = page.locator("#helper-old")
    expect(old).to_be_visible()
    expect(old).to_contain_text(
        f"這台電腦的機構卡讀卡程式是舊版（{__version__}），入口網站需要 9.0.0 以上的版本。"
    )
    expect(old.get_by_role("link", name="前往下載專區")).to_be_visible()
    expect(page.get_by_label("機構卡 PIN 碼")).to_be_disabled()
    expect(page.get_by_role("button", name="驗證機構卡")).to_be_disabled()
    page.screenshot(path=artifacts / "card-helper-too-old.png", full_page=True)


@pytest.fixture
def helper_without_readers(fresh_database, smtp_sink, card_trust_anchors_dir, pcsc_stack, tmp_path):
    """The helper told to use only a reader that is not there: it reports no reader."""

    @contextmanager
    def running_helper(origin: str) -> Iterator[str]:
        with helper_process(origin, tmp_path, options=["--reader", "沒有這台讀卡機"]) as helper:
            yield helper.url

    with _serve_card_portal(
        fresh_database, smtp_sink.port, card_trust_anchors_dir, running_helper
    ) as portal:
        yield portal


def test_no_reader_is_said_and_the_pin_waits(helper_without_readers, page: Page, page_problems):
    open_card_page(page, helper_without_readers)
    expect(page.locator("#helper-status")).to_have_text(
        "找不到讀卡機，請確認讀卡機的線已接上電腦；接上後這一頁會自動偵測。"
    )
    expect(page.get_by_label("機構卡 PIN 碼")).to_be_disabled()
    expect(page.get_by_role("button", name="驗證機構卡")).to_be_disabled()


def test_a_card_inserted_later_is_noticed_without_a_reload(
    card_portal, insert_card, page: Page, page_problems, artifacts
):
    open_card_page(page, card_portal)
    status = page.locator("#helper-status")
    expect(status).to_have_text(NO_CARD)
    expect(page.get_by_label("機構卡 PIN 碼")).to_be_disabled()
    page.screenshot(path=artifacts / "card-no-card.png", full_page=True)
    insert_card()
    expect(status).to_have_text(READY, timeout=NOTICED_MS)
    expect(page.get_by_label("機構卡 PIN 碼")).to_be_enabled()


def test_another_kind_of_card_is_named(card_portal, insert_card, page: Page, page_problems):
    insert_card(foreign=True)
    open_card_page(page, card_portal)
    expect(page.locator("#helper-status")).to_have_text(READY)
    page_problems.expect_console_error(r"status of 409 .*/v1/sign\)$")
    page.get_by_label("機構卡 PIN 碼").press_sequentially(CARD_PIN, delay=TYPING_DELAY_MS)
    page.get_by_role("button", name="驗證機構卡").click()
    expect(page.locator("#pin-error")).to_have_text(
        "讀卡機裡的卡片不是機構卡（可能是健保卡或醫事人員卡），請取出後改插機構卡，"
        "再按「驗證機構卡」。",
        timeout=CARD_TIMEOUT_MS,
    )
    expect(page.locator("#helper-status")).to_be_hidden()
    expect(page.get_by_label("機構卡 PIN 碼")).to_be_enabled()  # once the right card is in


def test_a_locked_card_says_whom_to_ask_and_stops(
    card_portal, insert_card, page: Page, page_problems, artifacts
):
    insert_card()
    open_card_page(page, card_portal)
    expect(page.locator("#helper-status")).to_have_text(READY)
    page_problems.expect_console_error(r"status of 42[23] .*/v1/sign\)$")
    pin = page.get_by_label("機構卡 PIN 碼")
    verify = page.get_by_role("button", name="驗證機構卡")
    pin_error = page.locator("#pin-error")
    for tries_left in (2, 1):
        pin.press_sequentially(WRONG_PIN, delay=TYPING_DELAY_MS)
        verify.click()
        expect(pin_error).to_have_text(
            f"PIN 碼錯誤，還可以再試 {tries_left} 次；次數用完卡片會被鎖住。",
            timeout=CARD_TIMEOUT_MS,
        )
    pin.press_sequentially(WRONG_PIN, delay=TYPING_DELAY_MS)
    verify.click()
    expect(pin_error).to_have_text(
        "PIN 碼已被鎖住，無法使用這張卡片驗證。請向發卡的憑證管理中心申請解鎖（醫事機構卡："
        "醫事憑證管理中心；政府單位憑證卡：政府憑證管理中心），或改用紙本審核。",
        timeout=CARD_TIMEOUT_MS,
    )
    expect(pin).to_be_disabled()
    expect(verify).to_be_disabled()
    expect(page.locator("#helper-status")).to_be_hidden()  # no longer "ready"
    page.screenshot(path=artifacts / "card-locked.png", full_page=True)
