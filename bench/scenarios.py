"""The requests each scenario sends, and a check that they get real answers.

A scenario whose requests all come back 400 (a stale CSRF token) or 404 (a wrong application
number) would measure error pages very quickly; every scenario is therefore tried once from
Python before wrk runs it, and the answers must carry the element the page is about.
"""

import json
import random
import re
from dataclasses import dataclass, replace
from http.client import HTTPResponse
from http.cookies import SimpleCookie
from urllib.parse import quote, urlencode

from bench.load import Request
from bench.seed import INSTITUTION_COUNT
from bench.server import Server
from portal.institutions.demo_data import generate_institutions

SESSION_COOKIE = "portal_session"
# The trivial route bench/floor_app.py adds to the portal.
FLOOR_PATH = "/_bench/floor"
ACCOUNT_PATH = "/account"
# What people type into the meter, short to long: zxcvbn's cost grows with the length.
PASSWORDS = ("abc", "Passw0rd", "Tr0ub4dor=3", "Clinic~2026!x", "correct=Horse9battery*staple")
# More than a scenario sends (≈ 1,000 req/s × 12 s), so none is asked twice in a run.
DISTINCT_QUERIES = 15_000
HTMX = {"HX-Request": "true"}
# The pages' own hx-trigger delays: no browser sends the meter or the search more often.
METER_DEBOUNCE_MS = 250
SEARCH_DEBOUNCE_MS = 300
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class BrowserSession:
    """A visitor who opened the registration page: their cookie and CSRF token."""

    cookie: str
    csrf_token: str

    def headers(self) -> dict[str, str]:
        """What htmx sends with a POST: the cookie and the token from `hx-headers`."""
        return {**HTMX, **FORM, "Cookie": self.cookie, "X-CSRFToken": self.csrf_token}


@dataclass(frozen=True)
class Scenario:
    """A named list of requests, the text every answer must contain, and its status."""

    name: str
    requests: list[Request]
    expect: str
    status: int = 200  # 303 for a POST that succeeds with a redirect (sign-in)
    # 0: a closed loop, each client sending as soon as its answer came (wrk). Otherwise
    # people typing, each waiting this long after an answer (bench/typists.py).
    pause_ms: int = 0

    def typing(self, pause_ms: int) -> "Scenario":
        """The same requests from people typing: one per `pause_ms` per person at most."""
        return replace(
            self, name=f"{self.name}, people typing ({pause_ms} ms debounce)", pause_ms=pause_ms
        )


def open_session(server: Server) -> BrowserSession:
    """GET /register as a new visitor; the session cookie and the page's CSRF token."""
    response = server.get("/register")
    cookie = SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        cookie.load(header)
    match = re.search(r"hx-headers='([^']*)'", response.body)
    if SESSION_COOKIE not in cookie or match is None:
        raise RuntimeError("GET /register gave no session cookie or no hx-headers token")
    token = json.loads(match.group(1))["X-CSRFToken"]
    # The next page rewrites the cookie once (Flask-Login marks the session "_fresh": false);
    # a browser keeps the new one, so must we, or every measured request would rewrite it.
    follow = server.get("/applications/status", {"Cookie": _cookie_header(cookie)})
    for header in follow.headers.get_all("Set-Cookie") or []:
        cookie.load(header)
    return BrowserSession(_cookie_header(cookie), token)


def _cookie_header(cookie: SimpleCookie) -> str:
    return f"{SESSION_COOKIE}={cookie[SESSION_COOKIE].value}"


def floor() -> Scenario:
    """The trivial route: the framework's own cost per request."""
    return Scenario("floor: GET /_bench/floor", [Request("GET", FLOOR_PATH, {})], "ok")


def register_page() -> Scenario:
    """A new visitor opening the form (no cookie, so a session and token are made)."""
    return Scenario("GET /register", [Request("GET", "/register", {})], 'name="username"')


# The other pages a new visitor opens, each with a text that only its full page shows.
VISITOR_PAGES = (
    ("/", "main-nav"),
    ("/login", 'name="password"'),
    ("/password/forgot", 'name="email"'),
    ("/applications/status", 'name="national_id"'),
)


def visitor_pages() -> list[Scenario]:
    """GET of each page in VISITOR_PAGES by a new visitor (no cookie), like the form's."""
    return [
        Scenario(f"GET {path}", [Request("GET", path, {})], text) for path, text in VISITOR_PAGES
    ]


def password_meter(session: BrowserSession) -> Scenario:
    """The live meter, as htmx posts it while the person types."""
    requests = [
        Request(
            "POST",
            "/register/password-strength",
            session.headers(),
            urlencode(
                {
                    "password": password,
                    "username": "chen.clinic",
                    "national_id": "A123456789",
                    "name": "陳志明",
                }
            ),
        )
        for password in PASSWORDS
    ]
    return Scenario("POST /register/password-strength", requests, 'id="password-strength"')


def distinct_search_queries(count: int, seed: int = 7) -> list[str]:
    """`count` different queries such as people type: parts of names, prefixes of codes.

    Taken from the same generated institutions as the seed, so most of them find something.
    """
    rng = random.Random(seed)
    records = list(generate_institutions(INSTITUTION_COUNT))
    queries: dict[str, None] = {}  # ordered and unique
    while len(queries) < count:
        record = rng.choice(records)
        if rng.random() < 0.3:
            query = record.code[: rng.randint(3, 10)]
        else:
            start = rng.randrange(len(record.name) - 1)
            query = record.name[start : start + rng.randint(2, 4)]
        queries[query] = None
    return list(queries)


def institution_search_distinct(count: int = DISTINCT_QUERIES) -> Scenario:
    """The picker with queries that never repeat, so no answer is one seen before."""
    requests = [
        Request("GET", f"/institutions/search?q={quote(query)}", HTMX)
        for query in distinct_search_queries(count)
    ]
    return Scenario(
        "GET /institutions/search, distinct queries", requests, 'id="institution-results"'
    )


def status_lookup(session: BrowserSession, pairs: list[tuple[str, str]], label: str) -> Scenario:
    """申請進度查詢 for real (application number, ID number) pairs of the seed."""
    requests = [
        Request(
            "POST",
            "/applications/status",
            session.headers(),
            urlencode(
                {
                    "application_no": number,
                    "national_id": national_id,
                    "csrf_token": session.csrf_token,
                }
            ),
        )
        for number, national_id in pairs
    ]
    return Scenario(f"POST /applications/status ({label})", requests, 'id="status-result"')


def open_login_session(server: Server) -> BrowserSession:
    """GET /login as a new visitor; the session cookie and the form's CSRF token."""
    response = server.get("/login")
    cookie = _cookies_of(response)
    body: str = response.body
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body)
    if SESSION_COOKIE not in cookie or match is None:
        raise RuntimeError("GET /login gave no session cookie or no csrf_token field")
    return BrowserSession(_cookie_header(cookie), match.group(1))


def _cookies_of(response: HTTPResponse, cookie: SimpleCookie | None = None) -> SimpleCookie:
    """The cookies a response sets, on top of those already held."""
    cookie = cookie if cookie is not None else SimpleCookie()
    for header in response.headers.get_all("Set-Cookie") or []:
        cookie.load(header)
    return cookie


def login_form(session: BrowserSession, username: str, password: str) -> Request:
    """服務登入 as the browser posts the form: the visitor's cookie, the token, no htmx."""
    body = urlencode(
        {"csrf_token": session.csrf_token, "next": "", "username": username, "password": password}
    )
    return Request("POST", "/login", {**FORM, "Cookie": session.cookie}, body)


def sign_ins(session: BrowserSession, usernames: list[str], password: str) -> Scenario:
    """Right passwords for many accounts; success is a 303 to 我的帳號."""
    requests = [login_form(session, username, password) for username in usernames]
    # Flask's redirect body links the target; a refusal is a 401 page without it.
    return Scenario("POST /login (right password)", requests, 'href="/account"', 303)


def signed_in_cookie(server: Server, username: str, password: str) -> str:
    """The cookie of a browser that signed in and opened 我的帳號 once."""
    item = login_form(open_login_session(server), username, password)
    response = server.request(item.method, item.path, item.body, item.headers)
    cookie = _cookies_of(response)
    if response.status != 303 or SESSION_COOKIE not in cookie:
        raise RuntimeError(f"sign-in as {username} answered {response.status}, no session")
    # The first page adds the form's CSRF token to the session and so rewrites the cookie;
    # a browser keeps the new one, so must we, or every measured request would rewrite it.
    for _attempt in range(3):
        follow = server.get(ACCOUNT_PATH, {"Cookie": _cookie_header(cookie)})
        if follow.status != 200:
            raise RuntimeError(f"GET {ACCOUNT_PATH} after sign-in answered {follow.status}")
        if not follow.headers.get_all("Set-Cookie"):
            return _cookie_header(cookie)
        _cookies_of(follow, cookie)
    raise RuntimeError("the session cookie changes on every request")


def account_page(cookie: str) -> Scenario:
    """我的帳號 of a signed-in person: the masked ID is on no other page."""
    return Scenario(
        f"GET {ACCOUNT_PATH} (signed in)",
        [Request("GET", ACCOUNT_PATH, {"Cookie": cookie})],
        'id="masked-national-id"',
    )


def check(server: Server, scenario: Scenario, sample: int = 5) -> int:
    """Send the scenario's first requests once; each must have the status and element expected.

    Returns how many were sent, so that the load can start after them.
    """
    for item in scenario.requests[:sample]:
        response = server.request(item.method, item.path, item.body, item.headers)
        body: str = response.body
        if response.status != scenario.status or scenario.expect not in body:
            raise RuntimeError(
                f"{scenario.name}: {item.method} {item.path} answered {response.status} "
                f"without {scenario.expect!r}:\n{body[:500]}"
            )
    return len(scenario.requests[:sample])


def home_page() -> Scenario:
    """The front page for a new visitor: the pinned and latest announcements."""
    return Scenario("GET /", [Request("GET", "/", {})], 'id="home-announcements"')


def announcements_page() -> Scenario:
    """公告事項 for a new visitor: the first page of the list, pinned first."""
    return Scenario(
        "GET /announcements", [Request("GET", "/announcements", {})], 'id="announcement-table"'
    )


def announcement_search(keywords: list[str]) -> Scenario:
    """公告事項 narrowed by a keyword, as the filter form sends it (HTMX, results only)."""
    requests = [Request("GET", f"/announcements?q={quote(keyword)}", HTMX) for keyword in keywords]
    return Scenario("GET /announcements?q=… (HTMX)", requests, 'id="announcement-results"')
