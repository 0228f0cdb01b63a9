"""Stamped scans: checked by content, stored outside the web root under random names."""

import hashlib
import re
import secrets
import subprocess
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from portal.accounts.models import AccountState
from portal.audit.services import Origin, record_event
from portal.changes.models import ChangeState, ManagerChange
from portal.db_types import utcnow
from portal.extensions import db
from portal.registration.models import Application, ApplicationState
from portal.verification import qr
from portal.verification.models import PaperScan

# The first bytes that identify each accepted type; the file name and the browser's
# Content-Type are never trusted.
SIGNATURES = {
    b"%PDF-": ("application/pdf", ".pdf"),
    b"\xff\xd8\xff": ("image/jpeg", ".jpg"),
    b"\x89PNG\r\n\x1a\n": ("image/png", ".png"),
}
CHUNK = 64 * 1024
QR_MATCHED = "matched"
# What a printed form's QR code holds: an application's 14 digits, or M and 14 for a change.
FILING_NUMBER = re.compile(r"M?[0-9]{14}")
QR_UNREADABLE = "unreadable"
# Control characters, and the bidirectional embeddings, overrides and isolates.
UNSHOWN_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class UploadRejected(Exception):
    """The file cannot be accepted; the message says why, for the person uploading."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


def detect_type(head: bytes) -> tuple[str, str] | None:
    """The content type and extension the file's first bytes show, if accepted."""
    return next((kind for magic, kind in SIGNATURES.items() if head.startswith(magic)), None)


def display_name(filename: str | None) -> str:
    """The last part of the name the browser sent, for showing only.

    Without control characters, nor the marks that reorder text: a reviewer shown U+202E
    followed by "fdp.exe" would read "exe.pdf", and the rest of the line reversed with it.
    """
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = UNSHOWN_IN_NAMES.sub("", name).strip()
    return name[:200] or "scan"


def store_scan(
    filing: Application | ManagerChange, stream: BinaryIO, filename: str | None, origin: Origin
) -> PaperScan:
    """Keep an uploaded scan of an application's or a change's form; queue it for review.

    The QR code on the scan is read and compared with the filing's number: a scan of
    another filing's form is refused; one whose code cannot be read is kept and flagged.
    """
    data, content_type, extension = _checked_upload(stream)
    number = filing.change_no if isinstance(filing, ManagerChange) else filing.application_no
    qr_status = _match_qr(data, content_type, number)
    stored_name = secrets.token_hex(16) + extension
    path = upload_dir() / stored_name
    path.write_bytes(data)
    path.chmod(0o600)
    scan = PaperScan(
        stored_name=stored_name,
        original_name=display_name(filename),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        qr_status=qr_status,
    )
    if isinstance(filing, ManagerChange):
        scan.change_id = filing.id
        _queue_change(filing)
    else:
        scan.application_id = filing.id
        _queue_application(filing)
    db.session.add(scan)
    record_event(
        "verification.paper_uploaded",
        subject_type="manager_change" if isinstance(filing, ManagerChange) else "application",
        subject_id=number,
        origin=origin,
        actor_account_id=(
            filing.filed_by_id if isinstance(filing, ManagerChange) else filing.account_id
        ),
        institution_id=filing.institution_id,
        detail={"sha256": scan.sha256, "size": scan.size, "type": content_type, "qr": qr_status},
    )
    try:
        db.session.commit()
    except Exception:
        # No file stays behind for a row the database refused.
        path.unlink(missing_ok=True)
        raise
    return scan


def _checked_upload(stream: BinaryIO) -> tuple[bytes, str, str]:
    """The uploaded bytes, their type and extension; UploadRejected if not acceptable."""
    limit = current_app.config["UPLOAD_MAX_BYTES"]
    data = stream.read(limit + 1)
    if not data:
        raise UploadRejected(_l("沒有收到檔案，請選擇掃描檔後再上傳。"))
    if len(data) > limit:
        raise UploadRejected(
            _l("檔案超過 %(mb)d MB，請降低掃描解析度後再上傳。", mb=limit // (1024 * 1024))
        )
    kind = detect_type(data[:16])
    if kind is None:
        raise UploadRejected(_l("只接受 PDF、JPEG 或 PNG 的掃描檔，這個檔案不是其中一種。"))
    return data, *kind


def _match_qr(data: bytes, content_type: str, number: str) -> str:
    """ "matched", or "unreadable"; a scan of another filing's form is refused at once."""
    texts = [text.strip() for text in qr.read_qr_texts(data, content_type)]
    if number in texts:
        return QR_MATCHED
    # Only a code that is some filing's number says "wrong form"; any other code on the page
    # (a scanner's own label, say) says nothing about it.
    texts = [text for text in texts if FILING_NUMBER.fullmatch(text)]
    if texts:
        raise UploadRejected(
            _l(
                "這份掃描檔上的 QR Code 是編號 %(found)s 的申請表，不是本件（%(number)s）。"
                "請上傳本件申請表用印後的掃描檔。",
                found=texts[0][:20],
                number=number,
            )
        )
    return QR_UNREADABLE


def _queue_application(application: Application) -> None:
    if application.state is not ApplicationState.AWAITING_PAPER_REVIEW:
        # A better scan sent while the review waits keeps its place and due date in the queue.
        application.step_started_at = utcnow()
    application.state = ApplicationState.AWAITING_PAPER_REVIEW
    application.refusal_reason = None
    application.account.state = AccountState.PENDING


def _queue_change(change: ManagerChange) -> None:
    if change.state is not ChangeState.AWAITING_PAPER_REVIEW:
        change.step_started_at = utcnow()
    change.state = ChangeState.AWAITING_PAPER_REVIEW
    change.refusal_reason = None


def upload_dir() -> Path:
    """Where scans live: outside the web root, created on first use."""
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def scan_path(scan: PaperScan) -> Path:
    """The stored file of a scan."""
    return upload_dir() / scan.stored_name


def preview_png(scan: PaperScan) -> Path | None:
    """A PNG of the scan's first page for the reviewer (made once with pdftoppm, cached).

    None when the PDF cannot be drawn (it starts like a PDF but is damaged): the reviewer
    still downloads the file itself.
    """
    source = scan_path(scan)
    if scan.content_type != "application/pdf":
        return source
    target = source.with_suffix(".preview.png")
    if not target.exists():
        # pdftoppm (poppler-utils) adds ".png" to the prefix it is given.
        drawn = subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "80",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                str(source),
                str(target.with_suffix("").with_suffix(".preview")),
            ],
            check=False,
            timeout=30,
            capture_output=True,
        )
        if drawn.returncode != 0 or not target.exists():
            return None
    return target


def scans_of(filing: Application | ManagerChange) -> list[PaperScan]:
    """Every scan uploaded for the application or change, newest first."""
    column = PaperScan.change_id if isinstance(filing, ManagerChange) else PaperScan.application_id
    return list(
        db.session.scalars(
            select(PaperScan).where(column == filing.id).order_by(PaperScan.id.desc())
        )
    )
