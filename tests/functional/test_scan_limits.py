"""Scans that would stall the server or fill its disk: refused at upload, capped, rate
limited, previewed within limits, and never a file left behind by a refused row."""

import errno
import io
import os
import re
import time
from functools import partial

import pikepdf
import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Role, StaffRole
from portal.audit.services import Origin
from portal.changes.models import (
    ChangeAction,
    ChangeKind,
    ChangeState,
    ManagerChange,
    ManagerChangeItem,
)
from portal.extensions import db
from portal.verification import pdf_tools, previews, scans
from portal.verification.models import PaperScan
from tests import factories, hostile, scanner
from tests.functional.auth_helpers import login, login_staff
from tests.functional.helpers import at_once, csrf_token, text_of

# A blank sheet scanned at 10 dpi: a real PNG of a few hundred bytes.
PNG = scanner.png(scanner.blank_page(dpi=10))
ORIGIN = Origin(remote_addr="127.0.0.1", user_agent="pytest")


@pytest.fixture
def settings(app):
    """Change settings for one test."""
    saved = dict(app.config)
    yield app.config
    app.config.clear()
    app.config.update(saved)


@pytest.fixture
def application(db_session, uploads):
    manager = factories.account(role=Role.MANAGER, national_id="B123456780")
    return factories.application(manager)


@pytest.fixture
def applicant(client, application):
    """A browser that may upload the application's scan (it proved the ID number)."""
    page = client.get("/applications/status").get_data(as_text=True)
    client.post(
        "/applications/status",
        data={
            "csrf_token": csrf_token(page),
            "application_no": application.application_no,
            "national_id": "B123456780",
        },
    )
    return client


@pytest.fixture
def change(db_session, uploads):
    """A change filed by an active manager, waiting for its card or paper."""
    clinic = factories.institution()
    filer = factories.active_manager(clinic)
    leaving = factories.active_manager(clinic)
    item = ManagerChangeItem(
        account_id=leaving.id, action=ChangeAction.DEACTIVATE, open_account_id=leaving.id
    )
    filing = ManagerChange(
        change_no=f"M{factories.next_number():014d}",
        institution_id=clinic.id,
        filed_by_id=filer.id,
        kind=ChangeKind.DEACTIVATE,
        state=ChangeState.AWAITING_VERIFICATION,
        items=[item],
    )
    db_session.add(filing)
    db_session.flush()
    return filing


@pytest.fixture
def reviewer(db_session):
    return factories.staff(StaffRole.HELP_DESK)


def upload(client, content: bytes, filename: str = "scan.pdf"):
    page = client.get("/verification/paper").get_data(as_text=True)
    return client.post(
        "/verification/paper",
        data={"csrf_token": csrf_token(page), "scan": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def upload_to_change(client, change, content: bytes, filename: str = "scan.pdf"):
    page = f"/manager-changes/{change.id}"
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(
        f"{page}/scans",
        data={"csrf_token": token, "scan": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def scan_count(db_session) -> int:
    return db_session.scalar(select(func.count()).select_from(PaperScan))


def files_in(uploads) -> list[str]:
    return sorted(path.name for path in uploads.iterdir()) if uploads.exists() else []


def encrypted_pdf() -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    buffer = io.BytesIO()
    pdf.save(buffer, encryption=pikepdf.Encryption(user="secret", owner="secret"))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: hostile.pdf_inflating_to(300), "這個 PDF 檔解壓縮後超過 200 MB"),
        (lambda: hostile.pdf_with_inflating_image(4), "這個 PDF 檔解壓縮後超過 200 MB"),
        (lambda: hostile.pdf_with_user_unit(50), "第 1 頁大小為 10495 × 14851 公釐"),
        (lambda: hostile.pdf_of_pages(200), "這個 PDF 檔有 200 頁，超過 5 頁的上限"),
        (lambda: hostile.pdf_with_inflating_object_stream(600), "無法讀取這個 PDF 檔"),
        (encrypted_pdf, "這個 PDF 檔設有密碼"),
        (lambda: hostile.png_declaring(50_000, 50_000), "這個圖檔超過 40 百萬像素"),
        (lambda: hostile.png_declaring(8_000, 5_001), "這個圖檔超過 40 百萬像素"),
        (lambda: b"\x89PNG\r\n\x1a\n" + bytes(64), "無法讀取這個圖檔"),
    ],
    ids=[
        "content-inflating-to-300-MiB",
        "image-declaring-10-gigapixels",
        "user-unit-50",
        "200-pages",
        "object-stream-inflating-to-600-MiB",
        "encrypted",
        "png-of-2500-megapixels",
        "png-just-over-40-megapixels",
        "png-without-a-header",
    ],
)
def test_a_costly_or_unreadable_scan_is_refused_before_anything_is_stored(
    applicant, application, uploads, db_session, make, message
):
    started = time.monotonic()
    response = upload(applicant, make(), "hostile.pdf")
    assert response.status_code == 422
    assert message in text_of(response.get_data(as_text=True), "scan-error")
    assert scan_count(db_session) == 0 and files_in(uploads) == []
    # Refused by reading the file's structure, not by drawing it (which is what would stall).
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "make",
    [
        lambda: hostile.pdf_of_pages(5),
        lambda: hostile.pdf_with_user_unit(1, (1191, 842)),  # A3, landscape
        lambda: hostile.pdf_inflating_to(20),
        lambda: hostile.png_declaring(8_000, 5_000),
    ],
    ids=["5-pages", "a3", "content-inflating-to-20-MiB", "png-of-40-megapixels"],
)
def test_scans_within_the_limits_are_kept(applicant, application, uploads, db_session, make):
    assert upload(applicant, make(), "ok.pdf").status_code == 303
    assert scan_count(db_session) == 1 and len(files_in(uploads)) == 1


def test_the_limits_are_settings(applicant, application, uploads, db_session, settings):
    settings.update(UPLOAD_MAX_PDF_PAGES=1, UPLOAD_MAX_PDF_DECODED_BYTES=10 * 1024 * 1024)
    two_pages = upload(applicant, hostile.pdf_of_pages(2))
    assert "超過 1 頁的上限" in text_of(two_pages.get_data(as_text=True), "scan-error")
    inflating = upload(applicant, hostile.pdf_inflating_to(20))
    assert "解壓縮後超過 10 MB" in text_of(inflating.get_data(as_text=True), "scan-error")
    settings.update(UPLOAD_MAX_PDF_PAGE_MM=200)
    a4 = upload(applicant, hostile.pdf_of_pages(1))
    assert "第 1 頁大小為 209 × 297 公釐" in text_of(a4.get_data(as_text=True), "scan-error")
    settings.update(UPLOAD_MAX_IMAGE_PIXELS=1_000)
    image = upload(applicant, PNG, "scan.png")
    assert image.status_code == 422 and scan_count(db_session) == 0


def test_a_change_refuses_a_costly_scan_too(client, change, uploads, db_session):
    login(client, change.filed_by.username)
    response = upload_to_change(client, change, hostile.pdf_with_user_unit(50))
    assert response.status_code == 422
    assert "超過最長邊 450 公釐的上限" in text_of(response.get_data(as_text=True), "scan-error")
    assert scan_count(db_session) == 0 and files_in(uploads) == []


def test_the_eleventh_scan_of_a_filing_is_refused(applicant, application, uploads, db_session):
    for number in range(10):
        assert upload(applicant, PNG, f"scan{number}.png").status_code == 303
    eleventh = upload(applicant, PNG, "scan10.png")
    assert eleventh.status_code == 422
    assert "已上傳 10 份掃描檔，已達上限" in text_of(eleventh.get_data(as_text=True), "scan-error")
    assert scan_count(db_session) == 10 and len(files_in(uploads)) == 10


def test_a_change_has_its_cap_too(client, change, uploads, db_session, settings):
    settings["UPLOAD_MAX_SCANS_PER_FILING"] = 2
    login(client, change.filed_by.username)
    assert [upload_to_change(client, change, PNG).status_code for _ in range(3)] == [303, 303, 422]
    assert scan_count(db_session) == 2 and len(files_in(uploads)) == 2


def test_uploads_are_rate_limited_and_the_refusal_says_when(
    applicant, application, change, uploads, db_session, settings
):
    settings["RATELIMIT_SCAN_UPLOAD"] = "2 per hour"
    assert upload(applicant, PNG, "first.png").status_code == 303
    # Both upload forms count against one limit: another filing from the same address.
    login(applicant, change.filed_by.username)
    assert upload_to_change(applicant, change, PNG).status_code == 303
    refused = upload_to_change(applicant, change, PNG)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    retry_at = text_of(refused.get_data(as_text=True), "retry-at")
    assert re.fullmatch(r"請於 (\d{4}-\d{2}-\d{2} )?\d{2}:\d{2} 後再試。", retry_at), retry_at
    assert scan_count(db_session) == 2


def test_no_file_stays_when_the_commit_fails(application, uploads, db_session, monkeypatch):
    def refused() -> None:
        raise IntegrityError("COMMIT", {}, Exception("the database said no"))

    monkeypatch.setattr(db.session, "commit", refused)
    with pytest.raises(IntegrityError):
        scans.store_scan(application, io.BytesIO(PNG), "scan.png", ORIGIN)
    assert files_in(uploads) == []


def test_a_row_the_database_refuses_never_touches_another_scans_file(
    application, uploads, db_session, monkeypatch
):
    kept = scans.store_scan(application, io.BytesIO(PNG), "first.png", ORIGIN)
    # The next random name is the same: the unique stored name makes the database refuse.
    monkeypatch.setattr(scans.secrets, "token_hex", lambda _size: kept.stored_name[:-4])
    other = scanner.png(scanner.blank_page(dpi=12))
    with pytest.raises(IntegrityError):
        scans.store_scan(application, io.BytesIO(other), "next.png", ORIGIN)
    db_session.rollback()
    assert files_in(uploads) == [kept.stored_name]
    assert (uploads / kept.stored_name).read_bytes() == PNG


class FullDisk:
    """A file on a disk that fills up after its first 100 bytes."""

    def __init__(self, file) -> None:
        self.file = file

    def write(self, data) -> int:
        self.file.write(bytes(data[:100]))
        self.file.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def close(self) -> None:
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *_exception) -> None:
        self.close()


def test_a_full_disk_leaves_no_partial_file(application, uploads, db_session, monkeypatch):
    real_open = io.open

    def opening(file, mode="r", *args, **kwargs):
        """Files opened for writing under the upload folder are on a full disk."""
        opened = real_open(file, mode, *args, **kwargs)
        path = os.readlink(f"/proc/self/fd/{opened.fileno()}")
        writing = any(letter in mode for letter in "wxa")
        return FullDisk(opened) if writing and path.startswith(str(uploads)) else opened

    monkeypatch.setattr(io, "open", opening)
    with pytest.raises(OSError, match="No space left"):
        scans.store_scan(application, io.BytesIO(PNG), "scan.png", ORIGIN)
    monkeypatch.undo()
    assert files_in(uploads) == []


def stored_before_the_checks(filing, data: bytes) -> PaperScan:
    """A PDF scan on record from before uploads were checked, its file on disk."""
    scan = PaperScan(
        application_id=filing.id,
        stored_name=f"legacy{filing.id}.pdf",
        original_name="old.pdf",
        content_type="application/pdf",
        size=len(data),
        sha256="0" * 64,
    )
    db.session.add(scan)
    db.session.flush()
    scans.scan_path(scan).write_bytes(data)
    return scan


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.4\nnot really a pdf", hostile.pdf_with_costly_shading()],
    ids=["damaged", "seconds-of-cpu-a-page"],
)
def test_a_scan_that_cannot_be_drawn_says_so_once_and_quickly(
    client, reviewer, application, uploads, db_session, monkeypatch, data
):
    scan = stored_before_the_checks(application, data)
    login_staff(client, reviewer)
    url = f"/review/{application.id}/scans/{scan.id}/preview.png"
    started = time.monotonic()
    first = client.get(url)
    assert time.monotonic() - started < pdf_tools.TIMEOUT_SECONDS + 2
    assert first.status_code == 200 and first.mimetype == "image/svg+xml"
    assert "無法預覽，請下載原檔查看" in first.get_data(as_text=True)

    def must_not_draw(*_args):
        raise AssertionError("drawn again")

    # The failure is kept: neither the picture nor the page draws it again.
    monkeypatch.setattr(pdf_tools, "pdftoppm", must_not_draw)
    assert "無法預覽" in client.get(url).get_data(as_text=True)
    html = client.get(f"/review/{application.id}").get_data(as_text=True)
    assert text_of(html, f"scan-{scan.id}-unavailable") == "無法預覽，請下載原檔查看"
    assert url not in html
    assert client.get(f"/review/{application.id}/scans/{scan.id}").data == data


def test_a_preview_is_bounded_in_pixels_and_drawn_once(
    client, reviewer, application, uploads, db_session, monkeypatch
):
    # A page 5 metres square: drawn at 80 dpi, a 768 MB bitmap; the preview is 1,600 pixels.
    scan = stored_before_the_checks(application, hostile.pdf_with_user_unit(1, (14_400, 14_400)))
    login_staff(client, reviewer)
    url = f"/review/{application.id}/scans/{scan.id}/preview.png"
    first = client.get(url)
    assert first.status_code == 200 and first.mimetype == "image/png"
    assert max(Image.open(io.BytesIO(first.data)).size) == previews.PNG_LONG_SIDE
    monkeypatch.setattr(pdf_tools, "pdftoppm", lambda *_args: b"drawn again")
    assert client.get(url).data == first.data
    assert f'src="{url}"' in client.get(f"/review/{application.id}").get_data(as_text=True)


def test_a_change_scan_that_cannot_be_drawn_says_so(client, reviewer, change, uploads, db_session):
    change.state = ChangeState.AWAITING_PAPER_REVIEW
    scan = PaperScan(
        change_id=change.id,
        stored_name=f"legacy-change{change.id}.pdf",
        original_name="old.pdf",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
    )
    db_session.add(scan)
    db_session.flush()
    scans.scan_path(scan).write_bytes(b"%PDF-1.4\n")
    login_staff(client, reviewer)
    url = f"/review/changes/{change.id}/scans/{scan.id}/preview.png"
    assert "無法預覽" in client.get(url).get_data(as_text=True)
    html = client.get(f"/review/changes/{change.id}").get_data(as_text=True)
    assert text_of(html, f"scan-{scan.id}-unavailable") == "無法預覽，請下載原檔查看"


def test_two_uploads_at_once_cannot_both_take_the_last_place(live_app, tmp_path, monkeypatch):
    live_app.config["UPLOAD_DIR"] = str(tmp_path)
    with live_app.app_context():
        manager = factories.account(role=Role.MANAGER, national_id="B123456780")
        application = factories.application(manager)
        for index in range(9):
            scan = factories.paper_scan(application)
            scan.stored_name = f"earlier{index}.png"
        db.session.commit()
        number, application_id = application.application_no, application.id
    original = scans._match_qr

    def lingering(*args):
        # Both requests are past the first count before either commits.
        result = original(*args)
        time.sleep(0.5)
        return result

    monkeypatch.setattr(scans, "_match_qr", lingering)
    clients = [live_app.test_client(), live_app.test_client()]
    posts = []
    for client in clients:
        page = client.get("/applications/status").get_data(as_text=True)
        client.post(
            "/applications/status",
            data={
                "csrf_token": csrf_token(page),
                "application_no": number,
                "national_id": "B123456780",
            },
        )
        token = csrf_token(client.get("/verification/paper").get_data(as_text=True))
        posts.append(
            partial(
                client.post,
                "/verification/paper",
                data={"csrf_token": token, "scan": (io.BytesIO(PNG), "last.png")},
                content_type="multipart/form-data",
            )
        )
    results = at_once(*posts)
    assert sorted(response.status_code for response in results) == [303, 422]
    with live_app.app_context():
        kept = db.session.scalar(
            select(func.count()).where(PaperScan.application_id == application_id)
        )
        assert kept == 10
    assert len(list(tmp_path.iterdir())) == 1
