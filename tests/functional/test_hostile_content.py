"""Hostile titles, bodies and file names from an administrator's form are shown as text on
every page that shows them, and a file's name never becomes a path or a header."""

import io
import re
from datetime import timedelta

from sqlalchemy import select

from portal.accounts.models import StaffRole
from portal.content.models import Announcement, ContentFile
from portal.db_types import utcnow
from portal.localtime import TAIPEI
from tests import factories
from tests.functional.auth_helpers import login_staff
from tests.functional.helpers import csrf_token

TITLE = '<img src=x onerror=alert("t")>"公告"'
BODY = (
    "<script>alert('b')</script>\n\n[點我](javascript:alert('l'))\n\n<img src=x onerror=alert(1)>"
)
NAMES = {
    "rtl": "\u202egpj.exe.pdf",
    "crlf": "a\r\nContent-Type: text/html.pdf",
    "quotes": 'a"; filename="evil.html.pdf',
    "path": "../../../etc/passwd.pdf",
    "markup": "<script>alert(1)</script>.pdf",
}
PDF = b"%PDF-1.4\n%%EOF\n"


def test_hostile_title_and_body_are_text_everywhere(client, db_session, uploads):
    login_staff(client, factories.staff(StaffRole.PORTAL_ADMIN))
    page = client.get("/admin/content/announcement/new").get_data(as_text=True)
    published = (utcnow() - timedelta(minutes=5)).astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    data = {
        "csrf_token": csrf_token(page),
        "title": TITLE,
        "category": "system",
        "system": "",
        "body": BODY,
        "publish_at": published,
        "pinned": "y",
    }
    assert client.post("/admin/content/announcement/new", data=data).status_code == 303
    item = db_session.scalar(select(Announcement))
    assert item.title == TITLE  # kept as typed; only ever shown escaped
    for path in (
        "/",
        "/announcements",
        f"/announcements/{item.id}",
        "/announcements.atom",
        "/admin/content/announcement",
        f"/admin/content/announcement/{item.id}",
        f"/admin/content/announcement/{item.id}/history",
    ):
        html = client.get(path).get_data(as_text=True)
        assert "<img src=x" not in html and "<script>alert" not in html, path
        assert "javascript:alert" not in html.replace("[點我](javascript:", ""), path
    shown = client.get(f"/announcements/{item.id}").get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(&#34;t&#34;)&gt;" in shown
    assert "&lt;script&gt;" in shown


def test_hostile_file_names_are_cleaned_and_never_a_path(client, db_session, uploads):
    login_staff(client, factories.staff(StaffRole.PORTAL_ADMIN))
    page = client.get("/admin/content/announcement/new").get_data(as_text=True)
    published = (utcnow() - timedelta(minutes=5)).astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")
    data = {"csrf_token": csrf_token(page), "title": "附件", "category": "system",
            "system": "", "body": "", "publish_at": published}  # fmt: skip
    client.post("/admin/content/announcement/new", data=data)
    item = db_session.scalar(select(Announcement))
    for label, name in NAMES.items():
        upload = {"csrf_token": csrf_token(page), "attachment": (io.BytesIO(PDF), name)}
        answer = client.post(
            f"/admin/content/announcement/{item.id}/files",
            data=upload,
            content_type="multipart/form-data",
        )
        # A line break in the part's header breaks the header itself: the file never
        # arrives, and the form says so.
        assert answer.status_code == (422 if label == "crlf" else 303), label
    stored = list(db_session.scalars(select(ContentFile).order_by(ContentFile.id)))
    assert len(stored) == len(NAMES) - 1
    for row in stored:
        assert re.fullmatch(r"[0-9a-f]{32}\.pdf", row.stored_name)
        assert "\u202e" not in row.original_name and "\r" not in row.original_name
        assert "/" not in row.original_name and row.original_name.endswith(".pdf")
    assert {p.name for p in (uploads.parent / "content-files").iterdir()} == {
        row.stored_name for row in stored
    }
    html = client.get(f"/announcements/{item.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    for row in stored:
        response = client.get(f"/announcements/{item.id}/files/{row.id}")
        disposition = response.headers["Content-Disposition"]
        assert "\r" not in disposition and "\n" not in disposition
        assert disposition.startswith('attachment; filename="file-')
        assert response.headers["Content-Type"] == "application/pdf"
