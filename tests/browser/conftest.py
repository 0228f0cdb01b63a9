"""Browser fixtures: Debian's Chromium driven by Playwright, and a page that must stay clean.

Playwright cannot download its own browser here, so the system Chromium is launched.
Every page records console errors, uncaught exceptions and Content-Security-Policy
violations; a test fails if its page produced any it did not expect.

Accessibility: `axe_check(page)` runs axe-core (WCAG 2.1 A and AA, and axe's best practices)
on what the page shows now and fails the test listing every violation; call it after each
page load and each HTMX swap worth checking. `focus_check(page)` tabs through the page and
fails if an element the keyboard reaches shows no visible focus ring (see "accessibility").

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
from axe_playwright_python.base import AXE_SCRIPT
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


# --- accessibility: axe-core ----------------------------------------------------------------
#
# Usage, in any browser test (a new page needs nothing more):
#
#     def test_my_page(live_server, page, axe_check):
#         page.goto(f"{live_server}/my-page")
#         axe_check(page)                      # the whole page as loaded
#         page.get_by_role("button", name="送出").click()
#         expect(page.locator("#x-error")).to_be_visible()
#         axe_check(page, "after the refused form")   # again, after the HTMX swap
#
# axe-core's own build (axe.min.js) comes from the PyPI package axe-playwright-python, installed
# with the other test dependencies: nothing is fetched while the tests run. It is injected
# through DevTools, so the page's Content-Security-Policy stays as strict as in production.

# WCAG 2.0 and 2.1, levels A and AA (what Taiwan's 網站無障礙規範 follows), and axe's best
# practices (landmarks, one h1, heading order, skip link), which the issue asks for too.
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")
_AXE_RUN = """
([options]) => axe.run(document, options).then((results) => results.violations)
"""


def axe_violations(page: Page) -> list[dict]:
    """axe-core's violations on the page as it is now (injected once per document)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    options = {"runOnly": {"type": "tag", "values": list(AXE_TAGS)}, "resultTypes": ["violations"]}
    return page.evaluate(_AXE_RUN, [options])


def describe_violations(violations: list[dict]) -> str:
    """Each violation, its rule's help and every element that breaks it, one per line."""
    lines = []
    for violation in violations:
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {target}: {summary}")
    return "\n".join(lines)


def assert_accessible(page: Page, where: str = "") -> None:
    """Fail, listing them, if axe-core finds any violation on the page as it is now."""
    violations = axe_violations(page)
    if violations:
        place = f"{page.url}{f' ({where})' if where else ''}"
        pytest.fail(
            f"axe-core found {len(violations)} accessibility violation(s) at {place}:\n"
            + describe_violations(violations),
            pytrace=False,
        )


@pytest.fixture
def axe_check() -> Callable[..., None]:
    """`axe_check(page, where="")`: fail if the page, as it is now, breaks WCAG 2.1 AA."""
    return assert_accessible


# What axe cannot judge: whether the element the keyboard reached shows it. The ring must be
# an outline at least 2 px wide whose colour stands 3:1 against what is behind it (WCAG 2.1
# 1.4.11, 2.4.7). The page's background is the first opaque one among the element's
# ancestors (the element's own may be the button's fill, inside the ring).
_FOCUS_RING = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  let behind = "rgb(255, 255, 255)";
  for (let node = el.parentElement; node; node = node.parentElement) {
    const bg = getComputedStyle(node).backgroundColor;
    if (bg && !bg.startsWith("rgba(0, 0, 0, 0)") && bg !== "transparent") { behind = bg; break; }
  }
  const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
    (el.getAttribute("name") ? `[name=${el.getAttribute("name")}]` : "") +
    (el.textContent.trim() ? ` "${el.textContent.trim().slice(0, 20)}"` : "");
  return {name, width: parseFloat(style.outlineWidth), style: style.outlineStyle,
          color: style.outlineColor, behind};
}
"""


def _luminance(css_colour: str) -> float:
    """Relative luminance of "rgb(r, g, b)" or "rgba(r, g, b, a)" (alpha ignored)."""
    channels = [float(part) / 255 for part in re.findall(r"[\d.]+", css_colour)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS rgb() colours."""
    light, dark = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def assert_focus_visible(page: Page, stops: int = 40) -> None:
    """Press Tab up to `stops` times from the top of the page; fail, naming them, if any
    element reached shows no focus ring of 2 px and 3:1 contrast."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    unseen = []
    for _ in range(stops):
        page.keyboard.press("Tab")
        ring = page.evaluate(_FOCUS_RING)
        if ring is None:
            break
        ratio = contrast(ring["color"], ring["behind"])
        if ring["style"] == "none" or ring["width"] < 2 or ratio < 3:
            unseen.append(
                f"{ring['name']}: outline {ring['width']}px {ring['style']} {ring['color']} "
                f"on {ring['behind']} ({ratio:.1f}:1)"
            )
    if unseen:
        pytest.fail(f"focus not visible at {page.url}:\n" + "\n".join(unseen), pytrace=False)


@pytest.fixture
def focus_check() -> Callable[..., None]:
    """`focus_check(page)`: fail if Tab reaches an element that does not show it."""
    return assert_focus_visible


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
