"""Scans that would stall the server or fill its disk: refused at upload, capped, rate
limited, previewed within limits, and never a file left behind by a refused row."""

import io
import time

import pikepdf
import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role, StaffRole
from portal.audit.services import Origin
from portal.changes.models import (
    ChangeAction,
    ChangeKind,
    ChangeState,
    ManagerChange,
    ManagerChangeItem,
)
from portal.verification.models import PaperScan
from tests import factories, hostile, scanner
from tests.functional.auth_helpers import login
from tests.functional.helpers import csrf_token, text_of

# A blank sheet scanned at 10 dpi: a real PNG of a few hundred bytes.
PNG = scanner.png(scanner.blank_page(dpi=10))
ORIGIN = Origin(remote_addr="127.0.0.1", user_agent="pytest")


@pytest.fixture
def uploads(app, tmp_path):
    saved = app.config["UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    yield tmp_path / "uploads"
    app.config["UPLOAD_DIR"] = saved


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
