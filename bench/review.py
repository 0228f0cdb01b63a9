"""Manager verification scenarios: `python -m bench.review`.

1. A fresh PostgreSQL database, migrated, with 30,001 institutions.
2. In-process: the portal's server-side check of an institution card's answer (bench/
   card_check.py), each on a fresh challenge of a fresh application, and the printed
   application form rendered to PDF (bench/pdf_forms.py).
3. A help-desk account with its second factor enrolled, and 50,000 paper filings awaiting
   review, each with its scan: manager applications (form A) and manager changes of every
   kind (bench/filings.py), with 20,000 decided ones of both (approved and refused) behind
   them. In-process, the queue's two queries alone: its first page and its counts per state.
4. gunicorn serving the portal on that database. Signed in as the help desk (password, then
   a TOTP code), the queue under wrk: the full page, the HTMX "載入更多" pages, the filter by
   institution code and the filter by kind.
5. A Markdown table on stdout and in bench/results/review.md.

The exit status is 0 whether targets pass or fail (the table says FAIL); it is non-zero only
when the benchmark itself breaks. The database and the server are removed in every case.
"""

import html
import os
import random
import re
import sys
from collections.abc import Callable
from functools import partial
from http.client import HTTPResponse
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pyotp
import sqlalchemy as sa
from flask import Flask

from bench import card_check, filings, pdf_forms, report, scenarios
from bench.floor import add_floor_route, in_process_floor
from bench.harness import run_benchmark, seeded_database, setup_line, timed
from bench.load import CONNECTIONS, Request
from bench.measure import log, measure
from bench.seed import INSTITUTION_COUNT, SHARED_PASSWORD, SeedContext, national_id_for
from bench.server import Server, ServerOptions, gunicorn, server_environment
from bench.timings import time_calls
from portal.accounts.models import Account, StaffRole
from portal.admin.services import StaffDetails, create_staff
from portal.audit.services import Origin
from portal.changes.models import ChangeState, ManagerChange
from portal.db_types import utcnow
from portal.extensions import db
from portal.institutions.models import Institution
from portal.localtime import local_now
from portal.registration.models import Application, ApplicationState
from portal.review import services
from portal.security.encryption import encrypt_text
from portal.workcalendar.services import current_calendar

PENDING_FILINGS = int(os.environ.get("BENCH_PENDING_FILINGS", "50000"))
DECIDED_FILINGS = int(os.environ.get("BENCH_DECIDED_FILINGS", "20000"))
# Of the decided filings, the share refused (a scan that cannot be read, a missing stamp).
REFUSED_SHARE = 0.25
# In-process calls of each of the queue's queries, timed alone.
QUERY_CALLS = int(os.environ.get("BENCH_QUERY_CALLS", "200"))
VERIFICATIONS = int(os.environ.get("BENCH_VERIFICATIONS", "200"))
RENDERS = int(os.environ.get("BENCH_RENDERS", str(pdf_forms.DEFAULT_RENDERS)))
# The one-client information line: a queue page alone under this latency, without a queue.
QUEUE_P95_MS = 50.0
# "載入更多" pressed up to 40 times: the pages a reviewer plausibly reaches.
LATER_PAGES = range(2, 42)
# Distinct institution codes the filter is given, each with at least one paper application.
FILTER_CODES = 200
STAFF_USERNAME = "bench.helpdesk"
PAPER_STATE = ApplicationState.AWAITING_PAPER_REVIEW.value
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
MORE_LINK = re.compile(r'<tr id="queue-more">.*?hx-get="([^"]+)"', re.S)
RESULTS = Path(__file__).resolve().parent / "results" / "review.md"


def in_process_rows(app: Flask, context: SeedContext, workdir: Path) -> list[report.Row]:
    """The in-process floor, the card check (whole service, and its certificate part
    alone) and the PDF form, judged by their CPU per call beside the floor's."""
    floor = timed("in-process floor", in_process_floor, add_floor_route(app))
    card = card_check.make_test_card(workdir / "trust-anchors", workdir / "crls")
    applicants = timed(
        f"seed {VERIFICATIONS:,} card applicants",
        card_check.seed_applicants,
        app,
        context,
        0,
        VERIFICATIONS,
    )
    service = timed("card checks", card_check.time_service, app, card, applicants)
    certificate = card_check.time_certificate_checks(card, VERIFICATIONS)
    pdf = timed("PDF renders", pdf_forms.time_renders, RENDERS)
    log(f"cold first call: card check {service.first_ms:.0f} ms, PDF {pdf.first_ms:.0f} ms")
    return [
        report.judged(
            "floor: the trivial route through the test client", floor, report.reference()
        ),
        report.judged(
            f"card check, whole service ({VERIFICATIONS} verifications, in-process)",
            service.measurement(),
            report.cpu_ratio_at_most(floor, report.CARD_CHECK_CPU_RATIO),
        ),
        report.judged(
            "card check, certificate and signature alone (no database)",
            certificate.measurement(),
            lambda _m: ("info: share of the service", None),
        ),
        report.judged(
            f"PDF 管理者帳號申請表, per render ({RENDERS} renders, in-process)",
            pdf.measurement(),
            report.cpu_ratio_at_most(floor, pdf_forms.CPU_RATIO),
        ),
    ]


def seed_queue(app: Flask, context: SeedContext, start: int, reviewer_id: int) -> list[str]:
    """The pending filings, then the decided ones; codes of institutions the filter will find.

    Account indices from `start` on; `reviewer_id` decided the decided ones.
    """
    index = filings.seed_filings(
        app, context, start, PENDING_FILINGS, ApplicationState.AWAITING_PAPER_REVIEW
    )
    refused = round(DECIDED_FILINGS * REFUSED_SHARE)
    for state, count in (
        (ApplicationState.APPROVED, DECIDED_FILINGS - refused),
        (ApplicationState.REFUSED, refused),
    ):
        index = filings.seed_filings(app, context, index, count, state, reviewer_id)
    with app.app_context():
        holders = sa.union(
            sa.select(Application.institution_id).where(
                Application.state == ApplicationState.AWAITING_PAPER_REVIEW
            ),
            sa.select(ManagerChange.institution_id).where(
                ManagerChange.state == ChangeState.AWAITING_PAPER_REVIEW
            ),
        ).subquery()
        codes = db.session.scalars(
            sa.select(Institution.code)
            .join(holders, holders.c.institution_id == Institution.id)
            .order_by(Institution.code)
        ).all()
    return random.Random(len(codes)).sample(list(codes), min(FILTER_CODES, len(codes)))


def query_rows(app: Flask) -> list[report.Row]:
    """The queue's two queries alone, in-process: the first page, and the counts per state."""
    with app.app_context():
        db.engine.dispose()  # a fresh pool: the session keeps the backend that is watched
        backend = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        calendar, today = current_calendar(), local_now().date()
        db.session.remove()
        rows = []
        for name, call in (
            ("services.queue, first page", partial(services.queue, calendar, today)),
            ("services.counts_by_state", services.counts_by_state),
        ):
            prepare = partial(_in_fresh_session, call)
            timings = time_calls(prepare, QUERY_CALLS, card_check.WARMUP, backend)
            rows.append(
                report.judged(
                    f"{name} alone ({QUERY_CALLS} calls, in-process)",
                    timings.measurement(),
                    lambda _m: ("info: share of GET /review", None),
                )
            )
        db.session.remove()
        db.engine.dispose()
    return rows


def _in_fresh_session(call: Callable[[], object], _index: int) -> Callable[[], object]:
    """`call`, after ending the session (untimed): each request has a session of its own."""
    db.session.remove()
    return call


def create_help_desk(app: Flask, index: int) -> tuple[int, str]:
    """A help-desk account, second factor already enrolled; its id and the TOTP seed."""
    secret = pyotp.random_base32()
    details = StaffDetails(
        STAFF_USERNAME,
        "紙本審核測試員",
        "bench.helpdesk@hpa.example.gov.tw",
        national_id_for(index),
        StaffRole.HELP_DESK,
    )
    with app.app_context():
        account = create_staff(details, SHARED_PASSWORD, Origin(remote_addr="bench"))
        # As if enrolled at an earlier sign-in: the bench computes codes from the same seed.
        account.totp_secret_encrypted = encrypt_text(secret)
        account.totp_confirmed_at = utcnow()
        db.session.commit()
        return account.id, secret


class Browser:
    """One visitor from Python: keeps the cookies the server sets, as a browser would."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.cookies = SimpleCookie()

    def cookie_header(self) -> str:
        """The Cookie header the next request carries."""
        return "; ".join(f"{name}={morsel.value}" for name, morsel in self.cookies.items())

    def send(self, method: str, path: str, form: dict | None = None, status: int = 200) -> str:
        """One request; the body, after checking the status."""
        headers = {"Cookie": self.cookie_header()} if self.cookies else {}
        if form is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(form) if form is not None else None
        response = self.server.request(method, path, body, headers)
        self.keep_cookies(response)
        if response.status != status:
            raise RuntimeError(f"{method} {path} answered {response.status}, not {status}")
        return response.body

    def keep_cookies(self, response: HTTPResponse) -> bool:
        """Take the cookies the response sets; whether it set any."""
        headers = response.headers.get_all("Set-Cookie") or []
        for header in headers:
            self.cookies.load(header)
        return bool(headers)


def sign_in_help_desk(server: Server, totp_secret: str) -> str:
    """Password, then the authenticator's code; the signed-in session's Cookie header."""
    browser = Browser(server)
    page = browser.send("GET", "/login")
    credentials = {"username": STAFF_USERNAME, "password": SHARED_PASSWORD}
    browser.send("POST", "/login", {"csrf_token": _csrf(page), **credentials}, 303)
    page = browser.send("GET", "/login/second-factor")
    code = pyotp.TOTP(totp_secret).now()
    browser.send("POST", "/login/second-factor", {"csrf_token": _csrf(page), "code": code}, 303)
    # The first pages after sign-in rewrite the cookie once (a new CSRF token, Flask-Login's
    # "_fresh"); a browser keeps the new one, so must we, or every measured request would
    # make the server write it again.
    for _attempt in range(3):
        response = server.get("/review", {"Cookie": browser.cookie_header()})
        if response.status != 200:
            raise RuntimeError(f"GET /review as the help desk answered {response.status}")
        if not browser.keep_cookies(response):
            return browser.cookie_header()
    raise RuntimeError("the session cookie changes on every request")


def _csrf(page: str) -> str:
    """The CSRF token of the page's form."""
    match = CSRF_FIELD.search(page)
    if match is None:
        raise RuntimeError("no CSRF token on the page")
    return match.group(1)


def queue_page(cookie: str) -> scenarios.Scenario:
    """The queue as the help desk opens it: first page, full HTML."""
    request = Request("GET", "/review", {"Cookie": cookie})
    return scenarios.Scenario("GET /review (full page)", [request], 'id="queue-more"')


def queue_later_pages(server: Server, cookie: str) -> scenarios.Scenario:
    """The rows "載入更多" fetches: the HTMX fragment of pages 2 to 41.

    Each page's link carries where the page before ended, so the links are collected by
    following them from the first page, as a reviewer pressing the button does.
    """
    headers = {**scenarios.HTMX, "Cookie": cookie}
    requests = []
    body = server.get(f"/review?{urlencode(_filters())}", {"Cookie": cookie}).body
    for _page in LATER_PAGES:
        match = MORE_LINK.search(body)
        if match is None:
            raise RuntimeError(f"the queue has no 載入更多 after {len(requests) + 1} pages")
        path = html.unescape(match.group(1))
        requests.append(Request("GET", path, headers))
        body = server.get(path, headers).body
    name = f"GET /review?after=…&page={LATER_PAGES[0]}…{LATER_PAGES[-1]} (HTMX fragment)"
    return scenarios.Scenario(name, requests, 'id="queue-more"')


def queue_by_institution(cookie: str, codes: list[str]) -> scenarios.Scenario:
    """The filter form submitted with an institution code (a plain GET: the full page)."""
    requests = [
        Request("GET", f"/review?{urlencode(_filters(institution_code=code))}", {"Cookie": cookie})
        for code in codes
    ]
    # Each code has paper applications, so every answer links at least one of them.
    name = f"GET /review?institution_code= ({len(codes)} codes, full page)"
    return scenarios.Scenario(name, requests, 'href="/review/')


def queue_by_kind(cookie: str) -> scenarios.Scenario:
    """The filter form submitted with each kind in turn (a plain GET: the full page)."""
    requests = [
        Request("GET", f"/review?{urlencode(_filters(kind=kind))}", {"Cookie": cookie})
        for kind in services.QUEUE_KINDS
    ]
    # Every kind has more than a page pending, so every answer offers 載入更多.
    name = f"GET /review?kind= ({', '.join(services.QUEUE_KINDS)}; full page)"
    return scenarios.Scenario(name, requests, 'id="queue-more"')


def _filters(institution_code: str = "", kind: str = "") -> dict[str, str]:
    """The query string the queue's filter form produces."""
    return {"state": PAPER_STATE, "kind": kind, "institution_code": institution_code}


def check_fragment(server: Server, scenario: scenarios.Scenario) -> None:
    """The HTMX requests get the rows alone, not the page: that is what is timed."""
    item = scenario.requests[0]
    body = server.request(item.method, item.path, None, item.headers).body
    if "<html" in body or "<tbody" not in body:
        raise RuntimeError(f"{item.path} with HX-Request did not answer the rows fragment")


# The queue's users are the agency's help desk, a handful of people, not the clinics: the
# judged line has this many of them paging with no pause between clicks (a closed loop).
REVIEWERS = int(os.environ.get("BENCH_REVIEWERS", "8"))
# With the reviewers all clicking, a queue page's p95 at most this many times the floor's
# p95 at as many clients: the page may cost up to WAITED_FOR_CPU_RATIO floors, and waits
# behind the other reviewers' pages as the floor waits behind the other floors.
QUEUE_P95_RATIO = report.WAITED_FOR_CPU_RATIO


def queue_rows(server: Server, cookie: str, codes: list[str], workdir: Path) -> list[report.Row]:
    """The floor, then each queue request: judged with the help desk's reviewers all
    clicking at once (CPU beside the floor's; p95 beside the floor's p95 with as many
    clients), and at 32 clients and at one for information."""
    later = queue_later_pages(server, cookie)
    check_fragment(server, later)
    floor = measure(server, scenarios.floor(), workdir)
    floor_reviewers = measure(server, scenarios.floor(), workdir, REVIEWERS)
    rows = [
        report.judged(scenarios.floor().name, floor, report.reference()),
        report.judged(
            f"{scenarios.floor().name}, {REVIEWERS} clients", floor_reviewers, report.reference()
        ),
    ]
    judged = report.all_of(
        report.cpu_ratio_at_most(floor, report.WAITED_FOR_CPU_RATIO),
        report.p95_ratio_at_most(floor_reviewers, QUEUE_P95_RATIO),
    )
    for scenario in (
        queue_page(cookie),
        later,
        queue_by_institution(cookie, codes),
        queue_by_kind(cookie),
    ):
        judges = (
            (REVIEWERS, judged),
            (CONNECTIONS, report.capacity_info()),
            (1, report.p95_info(QUEUE_P95_MS)),
        )
        for clients, judge in judges:
            name = f"{scenario.name}, {clients} client{'s' if clients > 1 else ''}"
            rows.append(report.judged(name, measure(server, scenario, workdir, clients), judge))
    return rows


def run(workdir: Path, options: ServerOptions) -> list[report.Row]:
    """Database, seed, in-process timings, server, measurements; all torn down on the way out."""
    with seeded_database(workdir) as bench:
        app, context = bench.app, bench.seed
        rows = in_process_rows(app, context, workdir)
        # The next account index after the card applicants' (seed.py: index i has id i + 1),
        # for the help desk: its account takes the next id, as the index says.
        with app.app_context():
            index = db.session.scalar(sa.select(sa.func.max(Account.id)))
        reviewer_id, secret = create_help_desk(app, index)
        codes = timed(
            f"seed {PENDING_FILINGS:,} pending and {DECIDED_FILINGS:,} decided paper filings",
            seed_queue,
            app,
            context,
            index + 1,  # the help desk's index was `index`
            reviewer_id,
        )
        rows += query_rows(app)
        environment = server_environment(bench.url, bench.keys, bench.instance)
        with gunicorn(environment, options, workdir / "gunicorn.log") as server:
            cookie = sign_in_help_desk(server, secret)
            return rows + queue_rows(server, cookie, codes, workdir)


def document(rows: list[report.Row], options: ServerOptions) -> str:
    """The table with what it was measured on and how to read it."""
    lines = [
        "# Manager verification benchmark",
        "",
        setup_line(
            options,
            f"{INSTITUTION_COUNT + 1:,} institutions, {PENDING_FILINGS:,} paper filings "
            f"awaiting review and {DECIDED_FILINGS:,} decided ones (each with a scan), signed "
            "in as the help desk",
        ),
        "",
        "Filings: " + filings.describe_mix() + ". Each change names accounts of its "
        "institution as the rules allow; decided ones are "
        f"{1 - REFUSED_SHARE:.0%} approved (changes applied), {REFUSED_SHARE:.0%} refused.",
        "",
        "In-process lines (card check, PDF, the queue's two queries): one thread, no HTTP; "
        "req/s is calls per second, "
        "p50 is the median call, CPU ms/req is this process's + its PostgreSQL backend's CPU "
        "per call. The card check is `verify_with_card` whole: challenge claimed, anchors "
        "read, chain, validity, key usage, policy OID, institution code, signature, account "
        "opened and audited, committed; issuing the challenge and signing it are not timed.",
        "Queue lines: latency is the median over the rounds of each round's percentile; "
        "CPU ms/req is gunicorn's workers + PostgreSQL's backends per request.",
        "Rate limiting is OFF (RATELIMIT_ENABLED=false): this measures the application, "
        "not the limiter.",
    ]
    return report.document(lines, rows)


def main() -> int:
    """Run the benchmark; 0 unless the benchmark itself failed."""
    return run_benchmark(run, document, RESULTS)


if __name__ == "__main__":
    sys.exit(main())
