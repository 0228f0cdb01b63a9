"""網站內容管理: a portal administrator creates, previews, schedules, edits, takes down,
deletes and reorders the public site's items, attaches files; every change is audited and
kept as a version."""

import io
import re
from datetime import timedelta
from urllib.parse import unquote

import pytest
from sqlalchemy import func, select

from portal.accounts.models import StaffRole
from portal.audit.models import AuditEvent
from portal.content.models import (
    Announcement,
    ContentFile,
    ContentKind,
    ContentVersion,
    Download,
    FaqEntry,
)
from portal.db_types import utcnow
from portal.localtime import TAIPEI
from tests import factories
from tests.functional.auth_helpers import login, login_staff
from tests.functional.helpers import csrf_token, input_value, text_of

HX = {"HX-Request": "true"}
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def admin(client, db_session, uploads):
    """A signed-in portal administrator."""
    person = factories.staff(StaffRole.PORTAL_ADMIN, name="網站管理員")
    login_staff(client, person)
    return person


def token(client, path="/admin/content") -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def taipei(moment) -> str:
    """A time as the form's datetime-local field sends it."""
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%dT%H:%M")


def announcement_form(client, **values) -> dict:
    return {
        "csrf_token": token(client, "/admin/content/announcement/new"),
        "title": "系統維護通知",
        "category": "maintenance",
        "system": "",
        "body": "本週六 **22:00** 起維護。",
        "publish_at": "",
        "unpublish_at": "",
        **values,
    }


def create_announcement(client, **values) -> Announcement:
    response = client.post(
        "/admin/content/announcement/new", data=announcement_form(client, **values)
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    item_id = int(re.search(r"/announcement/(\d+)$", response.headers["Location"]).group(1))
    return client.application.extensions["sqlalchemy"].session.get(Announcement, item_id)


def events(db_session, action: str) -> list[AuditEvent]:
    return list(db_session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_only_portal_administrators_keep_the_site(client, db_session):
    assert client.get("/admin/content").status_code == 302
    login(client, factories.account(state=factories.AccountState.ACTIVE).username)
    assert client.get("/admin/content/announcement").status_code == 403


def test_a_draft_is_saved_audited_and_versioned_but_not_shown(client, admin, db_session):
    item = create_announcement(client)
    assert item.publish_at is None and item.version == 1
    version = db_session.scalar(select(ContentVersion).where(ContentVersion.item_id == item.id))
    assert version.kind is ContentKind.ANNOUNCEMENT and version.action == "created"
    assert version.snapshot["title"] == "系統維護通知" and version.saved_by_id == admin.id
    [event] = events(db_session, "content.created")
    assert event.subject_type == "announcement" and event.detail["title"] == "系統維護通知"
    page = client.get(f"/admin/content/announcement/{item.id}").get_data(as_text=True)
    assert text_of(page, "item-state") == "草稿"
    assert client.get(f"/announcements/{item.id}").status_code == 404


def test_preview_shows_the_rendered_text_without_saving(client, admin, db_session):
    data = announcement_form(client, intent="preview", body="## 標題\n\n<script>alert(1)</script>")
    fragment = client.post("/admin/content/announcement/new", data=data, headers=HX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and html.lstrip().startswith('<section id="preview"')
    assert "<h2>標題</h2>" in html and "&lt;script&gt;" in html and "<script>" not in html
    assert "HX-Request" in fragment.headers["Vary"]
    page = client.post("/admin/content/announcement/new", data=data)
    assert "<html" in page.get_data(as_text=True)
    assert input_value(page.get_data(as_text=True), "title") == "系統維護通知"
    assert "預覽（尚未儲存）" in page.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(Announcement)) == 0


def test_a_refused_preview_points_at_the_fields(client, admin, db_session):
    data = announcement_form(client, intent="preview", title="")
    fragment = client.post("/admin/content/announcement/new", data=data, headers=HX)
    assert fragment.status_code == 422
    assert "請先修正" in text_of(fragment.get_data(as_text=True), "preview-refused")


def test_missing_fields_and_a_backwards_schedule_are_said_next_to_them(client, admin, db_session):
    now = utcnow()
    data = announcement_form(
        client,
        title="",
        publish_at=taipei(now + timedelta(days=2)),
        unpublish_at=taipei(now + timedelta(days=1)),
        body="保留的內文",
    )
    response = client.post("/admin/content/announcement/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert text_of(html, "title-error") == "請輸入標題。"
    assert "保留的內文" in html
    data["title"] = "有標題"
    html = client.post("/admin/content/announcement/new", data=data).get_data(as_text=True)
    assert text_of(html, "unpublish_at-error") == "上網期限要晚於發佈時間。"
    data["publish_at"] = "2026-13-45T99:99"
    html = client.post("/admin/content/announcement/new", data=data).get_data(as_text=True)
    assert "請輸入正確的日期與時間" in text_of(html, "publish_at-error")
    data["publish_at"] = "1900-01-01T00:00"
    html = client.post("/admin/content/announcement/new", data=data).get_data(as_text=True)
    assert "2000 至 2099" in text_of(html, "publish_at-error")


def test_schedule_publish_edit_and_take_down(client, admin, db_session):
    later = utcnow() + timedelta(days=1)
    item = create_announcement(client, publish_at=taipei(later))
    page = client.get(f"/admin/content/announcement/{item.id}").get_data(as_text=True)
    assert text_of(page, "item-state") == "排程中"
    assert client.get(f"/announcements/{item.id}").status_code == 404

    client.post(
        f"/admin/content/announcement/{item.id}/publish", data={"csrf_token": token(client)}
    )
    assert client.get(f"/announcements/{item.id}").status_code == 200

    db_session.refresh(item)
    form = announcement_form(client, title="系統維護通知（更新）", version=str(item.version))
    form["publish_at"] = taipei(item.publish_at)
    saved = client.post(f"/admin/content/announcement/{item.id}", data=form)
    assert saved.status_code == 303
    assert "系統維護通知（更新）" in client.get(f"/announcements/{item.id}").get_data(as_text=True)

    client.post(
        f"/admin/content/announcement/{item.id}/unpublish", data={"csrf_token": token(client)}
    )
    assert client.get(f"/announcements/{item.id}").status_code == 404
    actions = [
        v.action for v in db_session.scalars(select(ContentVersion).order_by(ContentVersion.number))
    ]
    assert actions == ["created", "published", "updated", "unpublished"]
    for action in ("content.published", "content.updated", "content.unpublished"):
        assert len(events(db_session, action)) == 1
    history = client.get(f"/admin/content/announcement/{item.id}/history").get_data(as_text=True)
    assert "第 4 版" in history and "下架" in history and "網站管理員" in history


def test_a_save_over_someone_elses_newer_version_is_refused(client, admin, db_session):
    item = create_announcement(client)
    opened = str(item.version)
    first = announcement_form(client, title="甲的修改", version=opened)
    assert client.post(f"/admin/content/announcement/{item.id}", data=first).status_code == 303
    second = announcement_form(client, title="乙的修改", version=opened)
    refused = client.post(f"/admin/content/announcement/{item.id}", data=second)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "已由其他人修改" in text_of(html, "edit-conflict")
    assert input_value(html, "title") == "乙的修改"
    db_session.refresh(item)
    assert item.title == "甲的修改"


def test_an_earlier_version_fills_the_form_again(client, admin, db_session):
    item = create_announcement(client, title="第一版標題")
    form = announcement_form(client, title="第二版標題", version=str(item.version))
    client.post(f"/admin/content/announcement/{item.id}", data=form)
    html = client.get(f"/admin/content/announcement/{item.id}?version=1").get_data(as_text=True)
    assert input_value(html, "title") == "第一版標題"


def test_attachments_are_checked_by_content_and_keep_their_chinese_names(
    client, admin, db_session, uploads
):
    item = create_announcement(client)
    upload = f"/admin/content/announcement/{item.id}/files"
    fake = {
        "csrf_token": token(client),
        "attachment": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "說明.pdf"),
    }
    refused = client.post(upload, data=fake, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "只接受" in text_of(refused.get_data(as_text=True), "upload-file-error")
    real = {"csrf_token": token(client), "attachment": (io.BytesIO(PDF), "維護說明.PDF")}
    assert client.post(upload, data=real, content_type="multipart/form-data").status_code == 303
    stored = db_session.scalar(select(ContentFile).where(ContentFile.announcement_id == item.id))
    assert stored.original_name == "維護說明.pdf" and stored.content_type == "application/pdf"
    on_disk = list((uploads.parent / "content-files").iterdir())
    assert [path.name for path in on_disk] == [stored.stored_name]
    assert "維護說明" not in stored.stored_name

    client.post(
        f"/admin/content/announcement/{item.id}/publish", data={"csrf_token": token(client)}
    )
    page = client.get(f"/announcements/{item.id}").get_data(as_text=True)
    link = re.search(r'href="(/announcements/\d+/files/\d+)"', page).group(1)
    download = client.get(link)
    assert download.data == PDF
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    encoded = re.search(r"filename\*=UTF-8''([^;\s]+)", disposition).group(1)
    assert unquote(encoded) == "維護說明.pdf"

    client.post(
        f"/admin/content/announcement/{item.id}/files/{stored.id}/delete",
        data={"csrf_token": token(client)},
    )
    assert client.get(link).status_code == 404
    assert not list((uploads.parent / "content-files").iterdir())
    assert len(events(db_session, "content.file_removed")) == 1


def test_a_file_too_large_is_refused_before_anything_is_stored(client, admin, db_session, app):
    item = create_announcement(client)
    app.config["CONTENT_UPLOAD_MAX_BYTES"], saved = 1024, app.config["CONTENT_UPLOAD_MAX_BYTES"]
    try:
        data = {
            "csrf_token": token(client),
            "attachment": (io.BytesIO(PDF + b"0" * 2048), "大.pdf"),
        }
        refused = client.post(
            f"/admin/content/announcement/{item.id}/files",
            data=data,
            content_type="multipart/form-data",
        )
    finally:
        app.config["CONTENT_UPLOAD_MAX_BYTES"] = saved
    assert "超過" in text_of(refused.get_data(as_text=True), "upload-file-error")
    assert db_session.scalar(select(func.count()).select_from(ContentFile)) == 0


def test_delete_keeps_the_history(client, admin, db_session, uploads):
    item = create_announcement(client)
    item_id = item.id
    data = {"csrf_token": token(client), "attachment": (io.BytesIO(PNG), "圖.png")}
    client.post(
        f"/admin/content/announcement/{item_id}/files",
        data=data,
        content_type="multipart/form-data",
    )
    confirm = client.get(f"/admin/content/announcement/{item_id}/delete").get_data(as_text=True)
    assert "確認刪除" in confirm
    done = client.post(
        f"/admin/content/announcement/{item_id}/delete", data={"csrf_token": token(client)}
    )
    assert done.status_code == 303
    db_session.expire_all()
    assert db_session.get(Announcement, item_id) is None
    assert not list((uploads.parent / "content-files").iterdir())
    history = client.get(f"/admin/content/announcement/{item_id}/history").get_data(as_text=True)
    assert "這個項目已刪除" in text_of(history, "item-deleted")
    assert "刪除" in history
    assert len(events(db_session, "content.deleted")) == 1


def test_built_in_downloads_are_taken_down_not_deleted(client, admin, db_session):
    blank = db_session.scalar(select(Download).where(Download.builtin_key == "manager-change-form"))
    refused = client.post(
        f"/admin/content/download/{blank.id}/delete", data={"csrf_token": token(client)}
    )
    assert refused.status_code == 303
    assert db_session.get(Download, blank.id) is not None
    client.post(f"/admin/content/download/{blank.id}/unpublish", data={"csrf_token": token(client)})
    assert "管理者帳號申請、異動表" not in text_of(
        client.get("/downloads").get_data(as_text=True), "download-results"
    )
    client.post(f"/admin/content/download/{blank.id}/publish", data={"csrf_token": token(client)})
    assert "管理者帳號申請、異動表" in text_of(
        client.get("/downloads").get_data(as_text=True), "download-results"
    )


def test_an_uploaded_download_replaces_its_file(client, admin, db_session, uploads):
    data = {
        "csrf_token": token(client, "/admin/content/download/new"),
        "title": "操作手冊",
        "description": "第一版",
        "category": "manual",
        "system": "cessation",
        "publish_at": taipei(utcnow() - timedelta(minutes=1)),
        "unpublish_at": "",
        "attachment": (io.BytesIO(PDF), "戒菸系統操作手冊.pdf"),
    }
    created = client.post(
        "/admin/content/download/new", data=data, content_type="multipart/form-data"
    )
    assert created.status_code == 303
    item = db_session.scalar(select(Download).where(Download.title == "操作手冊"))
    assert item.subsystem.code == "cessation" and item.file.original_name == "戒菸系統操作手冊.pdf"
    newer = {"csrf_token": token(client), "attachment": (io.BytesIO(PNG), "新版.png")}
    client.post(
        f"/admin/content/download/{item.id}/files", data=newer, content_type="multipart/form-data"
    )
    db_session.expire_all()
    assert db_session.get(Download, item.id).file.original_name == "新版.png"
    assert db_session.scalar(select(func.count()).select_from(ContentFile)) == 1
    assert len(list((uploads.parent / "content-files").iterdir())) == 1


def test_questions_are_reordered_within_their_topic(client, admin, db_session):
    for question in ("第一題", "第二題", "第三題"):
        data = {
            "csrf_token": token(client, "/admin/content/faq/new"),
            "topic": "applying",
            "question": question,
            "answer": "回答",
            "publish_at": taipei(utcnow() - timedelta(minutes=1)),
        }
        assert client.post("/admin/content/faq/new", data=data).status_code == 303
    third = db_session.scalar(select(FaqEntry).where(FaqEntry.question == "第三題"))
    client.post(
        f"/admin/content/faq/{third.id}/move", data={"csrf_token": token(client), "direction": "up"}
    )
    order = [e.question for e in db_session.scalars(select(FaqEntry).order_by(FaqEntry.position))]
    assert order == ["第一題", "第三題", "第二題"]
    page = client.get("/faq").get_data(as_text=True)
    assert page.index("第三題") < page.index("第二題")
    assert len(events(db_session, "content.reordered")) == 1


def test_every_kind_has_its_pages(client, admin, db_session):
    for kind in ("announcement", "download", "faq", "guide", "contact"):
        assert client.get(f"/admin/content/{kind}").status_code == 200
        assert client.get(f"/admin/content/{kind}/new").status_code == 200
    data = {
        "csrf_token": token(client, "/admin/content/contact/new"),
        "name": "系統服務窗口",
        "phone": "(02) 2522-0888",
        "email": "not-an-email",
    }
    refused = client.post("/admin/content/contact/new", data=data)
    assert text_of(refused.get_data(as_text=True), "email-error") == "電子郵件格式不正確。"
    data["email"] = "help@hpa.example.gov.tw"
    data["publish_at"] = taipei(utcnow() - timedelta(minutes=1))
    assert client.post("/admin/content/contact/new", data=data).status_code == 303
    assert "help@hpa.example.gov.tw" in client.get("/contact").get_data(as_text=True)
