"""Browser fixtures: Debian's Chromium driven by Playwright, and a page that must stay clean.

Playwright cannot download its own browser here, so the system Chromium is launched.
Every page records console errors, uncaught exceptions and Content-Security-Policy
violations; a test fails if its page produced any it did not expect.

For institution-card verification, `card_portal` serves a portal configured for the card
helper (`python -m card_helper` on a free port, answering that portal's origin) and the
test CA; the PC/SC stack and the virtual card come from tests/cards/fixtures.py.
"""

import re
import socket
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    sync_playwright,
)
from werkzeug.serving import make_server

from portal.extensions import db
from tests.cards.stack import PcscStack, helper_process
from tests.conftest import make_app, serving
from tests.smtp_sink import SmtpSink

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
# Locator and navigation waits; a healthy page answers far sooner.
DEFAULT_TIMEOUT_MS = 5_000

# Reports `securitypolicyviolation` events to Python; runs before any page script and is
# not subject to the page's CSP (Playwright injects it through the DevTools protocol).
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__reportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"}` +
      ` at ${event.sourceFile}:${event.lineNumber}`
  );
});
"""


@dataclass
class PageProblems:
    """What went wrong in the page: console errors, uncaught exceptions, CSP violations."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    # Console errors a test provokes on purpose (e.g. the 422 of a rejected form).
    expected: list[re.Pattern] = field(default_factory=list)

    def expect_console_error(self, pattern: str) -> None:
        """Allow console errors matching this regular expression."""
        self.expected.append(re.compile(pattern))

    def record_console(self, message: ConsoleMessage) -> None:
        """Keep the console's errors."""
        if message.type == "error":
            self.console_errors.append(f"{message.text} ({message.location.get('url', '')})")

    def record_page_error(self, error: Error) -> None:
        """Keep an uncaught exception."""
        self.page_errors.append(str(error))

    def record_csp_violation(self, description: str) -> None:
        """Keep a CSP violation reported by the page."""
        self.csp_violations.append(description)

    def unexpected(self) -> list[str]:
        """Every problem not allowed by `expect_console_error`."""
        console = [
            message
            for message in self.console_errors
            if not any(pattern.search(message) for pattern in self.expected)
        ]
        return [
            *(f"console: {m}" for m in console),
            *(f"exception: {m}" for m in self.page_errors),
            *(f"CSP: {m}" for m in self.csp_violations),
        ]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole run."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


def new_profile(browser: Browser, width: int = 1100, height: int = 900) -> BrowserContext:
    """A fresh profile (cookies, storage) in Traditional Chinese, with the tests' timeouts."""
    ctx = browser.new_context(
        locale="zh-TW",
        timezone_id="Asia/Taipei",
        viewport={"width": width, "height": height},
    )
    ctx.set_default_timeout(DEFAULT_TIMEOUT_MS)
    ctx.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    return ctx


def recording_page(ctx: BrowserContext, problems: PageProblems) -> Page:
    """A new page of the profile whose console errors, exceptions and CSP violations go
    into `problems`."""
    ctx.expose_function("__reportCspViolation", problems.record_csp_violation)
    ctx.add_init_script(_CSP_LISTENER)
    tab = ctx.new_page()
    tab.on("console", problems.record_console)
    tab.on("pageerror", problems.record_page_error)
    return tab


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile (cookies, storage) for each test, in Traditional Chinese."""
    ctx = new_profile(browser)
    yield ctx
    ctx.close()


@pytest.fixture
def page_problems() -> PageProblems:
    """The problems the test's page reported."""
    return PageProblems()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Fail a test that passed but whose page reported a problem it did not expect."""
    result = yield
    problems = getattr(item, "funcargs", {}).get("page_problems")
    if problems is not None and problems.unexpected():
        pytest.fail("the page reported problems:\n" + "\n".join(problems.unexpected()))
    return result


@pytest.fixture
def page(context: BrowserContext, page_problems: PageProblems) -> Iterator[Page]:
    """A page that records its problems (checked by `pytest_runtest_call` above)."""
    yield recording_page(context, page_problems)


@pytest.fixture
def second_page(browser: Browser, page_problems: PageProblems) -> Iterator[Page]:
    """Another person's page, in a profile of its own, recording into the same problems."""
    ctx = new_profile(browser)
    yield recording_page(ctx, page_problems)
    ctx.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """The folder for screenshots (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


# --- a portal for institution-card verification -------------------------------------------


@dataclass(frozen=True)
class CardPortal:
    """A live portal whose card page talks to `helper_url`: its base URL and app."""

    url: str
    app: Flask
    helper_url: str


@pytest.fixture
def card_trust_anchors_dir(tmp_path: Path, trust_anchors: list[x509.Certificate]) -> Path:
    """CARD_TRUST_ANCHORS_DIR holding the test root and issuing CA as PEM files."""
    directory = tmp_path / "trust-anchors"
    directory.mkdir()
    for number, anchor in enumerate(trust_anchors):
        (directory / f"anchor-{number}.pem").write_bytes(
            anchor.public_bytes(serialization.Encoding.PEM)
        )
    return directory


@contextmanager
def _closed_port_url() -> Iterator[str]:
    """A loopback URL nothing listens on: the port stays bound, unlistened, meanwhile."""
    with socket.socket() as unlistened:
        unlistened.bind(("127.0.0.1", 0))
        yield f"http://127.0.0.1:{unlistened.getsockname()[1]}"


def _not_started(environ, start_response):  # pragma: no cover (replaced before serving)
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


@contextmanager
def _serve_card_portal(
    database_url: str,
    mail_port: int,
    anchors_dir: Path,
    helper: Callable[[str], AbstractContextManager[str]],
    **config: object,
) -> Iterator[CardPortal]:
    """Bind the server first (the helper must know the portal's origin), then start the
    helper, then create the app: its CSP connect-src is fixed from CARD_HELPER_URL."""
    server = make_server("127.0.0.1", 0, _not_started, threaded=True)
    origin = f"http://127.0.0.1:{server.server_port}"
    try:
        with helper(origin) as helper_url:
            app = make_app(
                database_url,
                MAIL_PORT=mail_port,
                CARD_HELPER_URL=helper_url,
                CARD_TRUST_ANCHORS_DIR=str(anchors_dir),
                **config,
            )
            server.app = app
            try:
                with serving(server) as url:
                    yield CardPortal(url, app, helper_url)
            finally:
                with app.app_context():
                    db.engine.dispose()
    finally:
        server.server_close()


@pytest.fixture
def card_portal(
    fresh_database: str,
    smtp_sink: SmtpSink,
    card_trust_anchors_dir: Path,
    pcsc_stack: PcscStack,
    tmp_path: Path,
) -> Iterator[CardPortal]:
    """The portal and `python -m card_helper --origin <portal> --backend pcsc` beside it."""

    @contextmanager
    def running_helper(origin: str) -> Iterator[str]:
        with helper_process(origin, tmp_path) as helper:
            yield helper.url

    with _serve_card_portal(
        fresh_database, smtp_sink.port, card_trust_anchors_dir, running_helper
    ) as portal:
        yield portal


@pytest.fixture
def card_portal_without_helper(
    fresh_database: str, smtp_sink: SmtpSink, card_trust_anchors_dir: Path
) -> Iterator[CardPortal]:
    """The portal, its CARD_HELPER_URL pointing at a closed port (no helper installed)."""
    with _serve_card_portal(
        fresh_database,
        smtp_sink.port,
        card_trust_anchors_dir,
        lambda origin: _closed_port_url(),
    ) as portal:
        yield portal
