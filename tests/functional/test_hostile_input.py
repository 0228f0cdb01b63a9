"""No input makes a server error: every route, as every role, with hostile values.

The walk takes `app.url_map` as it is, so a new route is walked without being listed here.
For each rule it puts ids beyond what a column holds (and 0, -1) and hostile text in the
path; then, on the real objects of a small world, it sends hostile values for every query
parameter and form field the view reads, and hostile names for files. Which names a view
reads is recorded while it runs (`ReadNames`), so a new parameter is walked as soon as a
view reads it. Anything but a 5xx passes: a 404, a 400 page, a message next to the field.
"""

import io
import itertools
import re
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import Rule

from portal.accounts.models import AccountState, Role, StaffRole
from portal.audit.services import Origin
from portal.changes.models import ChangeAction, ChangeState
from portal.changes.services import Filing, file_change
from portal.content.models import (
    Announcement,
    AnnouncementCategory,
    ContactWindow,
    ContentFile,
    Download,
    DownloadCategory,
    FaqEntry,
    FaqTopic,
    GuideKind,
    GuidePage,
)
from portal.db_types import utcnow
from portal.extensions import limiter
from portal.registration.models import ApplicationState
from portal.subsystems.models import Subsystem, SubsystemRequest
from portal.verification.models import PaperScan
from tests import factories
from tests.functional.auth_helpers import login, login_staff
from tests.functional.helpers import csrf_token, hidden_value, text_of

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
HOSTILE_IDS = ("2147483648", "9223372036854775808", "-1", "0")
# Each value as it goes on the wire, percent-encoded: "%ff%fe" is not UTF-8 at all.
HOSTILE_TEXT = {
    "long": quote("長" + "x" * 9_999),
    "nul": quote("a\x00b"),
    "crlf": quote("/\r\nX-Injected: yes"),
    "rtl": quote("\u202egpj.exe"),
    "huge": str(2**64),
    "invalid utf-8": "%ff%fe",
}
# Values for names that invite them: the calendar's ends, cursors whose time overflows
# when turned into UTC, pages beyond any offset a database takes.
HOSTILE_BY_NAME = {
    "date": {"first day": "0001-01-01", "last day": "9999-12-31"},
    "after": {
        "cursor before year 1": quote("0001-01-01T00:00:00+14:00_A1"),
        "cursor after 9999": quote("9999-12-31T23:59:59-14:00_A1"),
    },
    "page": {"negative": "-1", "beyond bigint": str(2**63)},
}
# Names that mean something to url_for, for a view that passes the query on to its links.
URL_FOR_NAMES = "page=2&_method=PUT&_scheme=javascript&_external=1&_anchor=x"
HOSTILE_FILE_NAMES = {
    "nul": "a\x00b.png",
    "long": "長" + "x" * 9_995 + ".png",
    "crlf": "a\r\nb.png",
    "rtl": "\u202egnp.exe",
}
# Sent to every page, whether its view reads them or not.
COMMON_QUERY_NAMES = (
    "after",
    "page",
    "next",
    "q",
    "state",
    "kind",
    "institution_code",
    "date_from",
    "date_to",
    "token",
)
# In an order where no walk undoes what a later one needs: the manager deactivates the
# general user, the portal administrator may deactivate the help desk.
ROLES = ("anonymous", "general", "help_desk", "subsystem_admin", "manager", "portal_admin")


class ReadNames(ImmutableMultiDict):
    """request.args, .form and .files that note each name the view asks for."""

    asked: set[str] = set()

    def __getitem__(self, key):
        ReadNames.asked.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):  # noqa: A002  (werkzeug's name)
        ReadNames.asked.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        ReadNames.asked.add(key)
        return super().getlist(key, type)

    def __contains__(self, key) -> bool:
        ReadNames.asked.add(key)
        return super().__contains__(key)


def _scan_on_disk(uploads, **owner) -> PaperScan:
    scan = PaperScan(
        stored_name=f"{factories.next_number()}.png",
        original_name="scan.png",
        content_type="image/png",
        size=len(PNG),
        sha256="0" * 64,
        **owner,
    )
    uploads.mkdir(exist_ok=True)
    (uploads / scan.stored_name).write_bytes(PNG)
    return scan


# One published item of each kind of the public site, all with this id, so that the walk
# goes through every content route once per id rather than once per kind and id.
CONTENT_ID = 777


def _content_on_disk(uploads, file_id: int, **owner) -> ContentFile:
    stored = ContentFile(
        id=file_id,
        stored_name=f"{factories.next_number()}.png",
        original_name="圖.png",
        content_type="image/png",
        size=len(PNG),
        sha256="0" * 64,
        **owner,
    )
    folder = uploads.parent / "content-files"
    folder.mkdir(exist_ok=True)
    (folder / stored.stored_name).write_bytes(PNG)
    return stored


def _content(db_session, uploads) -> dict[str, list[int]]:
    """An announcement, a download, a question, a guide page and a contact window, published,
    with the announcement's and the guide's files on disk."""
    published = {"id": CONTENT_ID, "publish_at": utcnow()}
    db_session.add_all(
        [
            Announcement(title="公告", category=AnnouncementCategory.SYSTEM, body="x", **published),
            FaqEntry(topic=FaqTopic.OTHER, question="問題", answer="回答", **published),
            GuidePage(kind=GuideKind.START, title="指南", body="x", **published),
            ContactWindow(name="窗口", **published),
        ]
    )
    db_session.flush()
    files = [
        _content_on_disk(uploads, CONTENT_ID + 1, announcement_id=CONTENT_ID),
        _content_on_disk(uploads, CONTENT_ID + 2, guide_id=CONTENT_ID),
        _content_on_disk(uploads, CONTENT_ID + 3),
    ]
    db_session.add_all(files)
    db_session.flush()
    db_session.add(
        Download(
            title="手冊", category=DownloadCategory.MANUAL, file_id=CONTENT_ID + 3, **published
        )
    )
    db_session.flush()
    return {
        "item_id": [CONTENT_ID],
        "announcement_id": [CONTENT_ID],
        "download_id": [CONTENT_ID],
        "guide_id": [CONTENT_ID],
        "file_id": [stored.id for stored in files],
    }


@pytest.fixture
def world(db_session, uploads) -> dict:
    """An institution with something of every kind to look at, and a person of each role."""
    clinic = factories.institution()
    manager, deputy = factories.active_manager(clinic), factories.active_manager(clinic)
    general = factories.account(institution=clinic, state=AccountState.ACTIVE)
    waiting = factories.application(factories.account(institution=clinic))
    to_verify = factories.application(
        factories.account(institution=clinic, role=Role.MANAGER, national_id="F131104093")
    )
    on_paper = factories.application(
        factories.account(institution=factories.institution(), role=Role.MANAGER),
        state=ApplicationState.AWAITING_PAPER_REVIEW,
    )
    change = file_change(manager, Filing(((deputy.id, ChangeAction.DEMOTE),)), Origin())
    change.state = ChangeState.AWAITING_PAPER_REVIEW
    scans = [
        _scan_on_disk(uploads, application_id=on_paper.id),
        _scan_on_disk(uploads, change_id=change.id),
    ]
    cessation = db_session.scalar(select(Subsystem).where(Subsystem.code == "cessation"))
    asked = SubsystemRequest(account=waiting.account, subsystem=cessation)
    db_session.add_all([*scans, asked])
    db_session.flush()
    people = {
        "general": general,
        "manager": manager,
        "help_desk": factories.staff(StaffRole.HELP_DESK),
        "subsystem_admin": factories.staff(StaffRole.SUBSYSTEM_ADMIN, ("cessation",)),
        "portal_admin": factories.staff(StaffRole.PORTAL_ADMIN),
    }
    return {
        "people": people,
        "to_verify": to_verify,
        "ids": {
            "application_id": [waiting.id, on_paper.id],
            "change_id": [change.id],
            "account_id": [general.id, people["help_desk"].id],
            "scan_id": [scan.id for scan in scans],
            "request_id": [asked.id],
            **_content(db_session, uploads),
        },
        # What the other fields hold while one is hostile, so that the form gets further.
        "plausible": {
            "institution_code": clinic.code,
            "application_no": to_verify.application_no,
            "national_id": "F131104093",
            "username": "someone.else",
            "name": "王小明",
            "email": "someone@example.org",
            "phone": "02-12345678",
            "mobile": "0912-345678",
            "password": factories.STRONG_PASSWORD,
            "password_confirm": factories.STRONG_PASSWORD,
            "current_password": factories.STRONG_PASSWORD,
            "reason": "測試",
            "role": "general",
            "kind": "handover",
            "target_id": str(general.id),
            "title": "公告",
            "category": "system",
            "question": "問題",
            "answer": "回答",
            "topic": "applying",
            "guide_kind": "start",
            "direction": "up",
        },
    }


@dataclass
class Walk:
    """One role's requests, and each that ended in a server error."""

    role: str
    client: FlaskClient
    plausible: dict[str, str]
    walked_anonymously: set
    token: str = ""
    refusals: set = field(default_factory=set)
    failures: list[str] = field(default_factory=list)

    def send(self, method: str, path: str, query: str = "", body=None, label: str = "") -> tuple:
        """One request; a 5xx or an exception is noted. The status and the names read."""
        ReadNames.asked = set()
        kwargs = {"query_string": query}
        if isinstance(body, str):
            kwargs.update(data=body, content_type="application/x-www-form-urlencoded")
        elif body is not None:
            kwargs.update(data=body, content_type="multipart/form-data")
        try:
            status = self.client.open(path, method=method, **kwargs).status_code
        except Exception as error:  # noqa: BLE001  (any escape is what the walk looks for)
            status = f"{type(error).__name__}: {str(error).splitlines()[0][:100]}"
        if not isinstance(status, int) or status >= 500:
            self.failures.append(f"{self.role}: {method} {path[:50]} {label}: {status}")
        return status, frozenset(ReadNames.asked - {"csrf_token"})

    def form(self, values: dict[str, str]) -> str:
        """A urlencoded body with the CSRF token; values are already percent-encoded."""
        return "&".join(f"{quote(k)}={v}" for k, v in {"csrf_token": self.token, **values}.items())

    def rule(self, rule: Rule, ids: dict[str, list[int]]) -> None:
        """Every path of the rule, plainly; then hostile values for what its view reads."""
        for method in sorted(rule.methods & {"GET", "POST"}):
            for path, real in _paths(rule, ids):
                body = self.form({}) if method == "POST" else None
                status, read = self.send(method, path, body=body, label="(plain)")
                if not real or not self.worth_walking(method, path, status, read):
                    continue
                if method == "GET":
                    self.query(path, read)
                else:
                    self.post(path, read)

    def worth_walking(self, method: str, path: str, status: int | str, read: frozenset) -> bool:
        """Whether hostile values could run code that was not walked yet.

        A public page the anonymous walk went through with the same answer and the same
        names read runs the same code for everyone. A view that answered without reading
        anything (a refusal, a redirect to sign in) is walked once per kind of answer.
        """
        if (method, path, status, read) in self.walked_anonymously:
            return False
        if self.role == "anonymous":
            self.walked_anonymously.add((method, path, status, read))
        if read or (isinstance(status, int) and status < 300):
            return True
        first = (method, status) not in self.refusals
        self.refusals.add((method, status))
        return first

    def query(self, path: str, read: frozenset[str]) -> None:
        """Each hostile value in every common name at once, then in each name read alone."""
        for label, value in HOSTILE_TEXT.items():
            names = sorted(set(COMMON_QUERY_NAMES) | read)
            self.send("GET", path, "&".join(f"{n}={value}" for n in names), label=f"all={label}")
        self.send("GET", path, URL_FOR_NAMES, label="url_for's names")
        for name in sorted(read):
            for label, value in _hostile_values(name).items():
                self.send("GET", path, f"{name}={value}", label=f"{name}={label}")

    def post(self, path: str, read: frozenset[str]) -> None:
        """Each field hostile in turn (the others plausible); then files with hostile names."""
        plausible = {n: quote(self.plausible[n]) for n in read if n in self.plausible}
        for name in sorted(read):
            for label, value in _hostile_values(name).items():
                body = self.form({**plausible, name: value})
                self.send("POST", path, body=body, label=f"{name}={label}")
        for label, filename in HOSTILE_FILE_NAMES.items():
            files = {n: (io.BytesIO(PNG), filename) for n in read}
            body = {"csrf_token": self.token, **files}
            self.send("POST", path, body=body, label=f"file name {label}")


def _hostile_values(name: str) -> dict[str, str]:
    values = dict(HOSTILE_TEXT)
    for part, extra in HOSTILE_BY_NAME.items():
        if part in name:
            values.update(extra)
    return values


def _paths(rule: Rule, ids: dict[str, list[int]]):
    """The rule's paths: each combination of real values, then each hostile one in each place.

    Made by hand: url_for would refuse what the converters refuse.
    """
    names = sorted(rule.arguments)
    real, hostile = {}, {}
    for name in names:
        choices = re.search(rf"<any\(([^)]*)\):{name}>", rule.rule)
        if choices:  # the converter refuses anything else: nothing hostile gets through
            real[name], hostile[name] = [c.strip() for c in choices.group(1).split(",")], []
        elif f"<int:{name}>" in rule.rule:
            real[name], hostile[name] = [str(i) for i in ids.get(name, [1])], HOSTILE_IDS
        else:
            real[name], hostile[name] = ["1"], list(HOSTILE_TEXT.values())
    for values in itertools.product(*(real[name] for name in names)):
        yield _fill(rule, dict(zip(names, values, strict=True))), True
    for name in names:
        for value in hostile[name]:
            yield _fill(rule, {**{n: real[n][0] for n in names}, name: value}), False


def _fill(rule: Rule, values: dict[str, str]) -> str:
    path = rule.rule
    for name, value in values.items():
        path = re.sub(rf"<(?:[^<>]*:)?{name}>", lambda _, value=value: value, path)
    return path


def _sign_in(client: FlaskClient, world: dict, role: str) -> None:
    if role == "anonymous":
        # The applicant's browser, allowed to verify the application it looked up.
        page = client.get("/applications/status").get_data(as_text=True)
        application = world["to_verify"]
        data = {"application_no": application.application_no, "national_id": "F131104093"}
        client.post("/applications/status", data={"csrf_token": csrf_token(page), **data})
        return
    person = world["people"][role]
    response = login_staff(client, person) if person.is_staff else login(client, person.username)
    assert response.status_code == 303


def _rules(app) -> list[Rule]:
    """Every rule but static files; signing out last, as it ends the walk's session."""
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    return sorted(rules, key=lambda rule: (rule.endpoint == "auth.logout", rule.rule))


def test_no_input_makes_a_server_error(app, world, monkeypatch):
    # The walk sends far more than any person would: rate limits would hide the views.
    monkeypatch.setattr(limiter, "enabled", False)
    monkeypatch.setattr(app.request_class, "parameter_storage_class", ReadNames)
    walked_anonymously, failures = set(), []
    for role in ROLES:
        client = app.test_client()
        _sign_in(client, world, role)
        walk = Walk(role, client, world["plausible"], walked_anonymously)
        walk.token = csrf_token(client.get("/login").get_data(as_text=True))
        for rule in _rules(app):
            walk.rule(rule, world["ids"])
        failures += walk.failures
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures[:60])


def test_a_nul_or_a_control_character_in_the_address_or_a_header_is_a_plain_400(client, db_session):
    page = client.get("/login").get_data(as_text=True)
    typed = {"csrf_token": csrf_token(page), "username": "a\x00b", "password": "x"}
    refused = client.post("/login", data=typed)
    assert refused.status_code == 400
    assert "無法處理的控制字元" in refused.get_data(as_text=True)
    assert client.get("/institutions/search?q=%00").status_code == 400
    assert client.get("/institutions/search?q=a%0d%0ab").status_code == 400
    assert client.get("/login", headers={"User-Agent": "a\x00b"}).status_code == 400
    # A tab in a search box is typed (or pasted) by people: it is no reason to refuse.
    assert client.get("/institutions/search?q=%09clinic").status_code == 200


def test_a_control_character_in_a_field_is_said_next_to_it(client, db_session):
    page = client.get("/password/forgot").get_data(as_text=True)
    pasted = {"csrf_token": csrf_token(page), "username": "wang\x0b", "email": "w@example.org"}
    answer = client.post("/password/forgot", data=pasted)
    assert answer.status_code == 422
    assert "控制字元" in text_of(answer.get_data(as_text=True), "username-error")


def test_a_file_sent_under_a_text_fields_name_is_not_its_value(client, db_session):
    page = client.get("/login").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "username": (io.BytesIO(PNG), "me.png")}
    answer = client.post("/login", data=data, content_type="multipart/form-data")
    assert answer.status_code == 422
    assert "請輸入帳號" in text_of(answer.get_data(as_text=True), "username-error")


@pytest.mark.parametrize("label", ["crlf", "nul", "long", "rtl", "invalid utf-8"])
def test_signing_in_with_a_hostile_next_is_no_server_error(app, db_session, label):
    """Through a link to /login?next=…, and in the form's own field."""
    person = factories.account(state=AccountState.ACTIVE)
    password = quote(factories.STRONG_PASSWORD)
    for through_the_link in (True, False):
        client = app.test_client()
        link = client.get("/login", query_string=f"next={HOSTILE_TEXT[label]}")
        assert link.status_code < 500
        page = client.get("/login") if link.status_code != 200 else link
        html = page.get_data(as_text=True)
        carried = quote(unescape(hidden_value(html, "next")))
        target = carried if through_the_link else HOSTILE_TEXT[label]
        answer = client.post(
            "/login",
            data=f"csrf_token={csrf_token(html)}&username={person.username}"
            f"&password={password}&next={target}",
            content_type="application/x-www-form-urlencoded",
        )
        assert answer.status_code < 500
        assert "X-Injected" not in answer.headers
