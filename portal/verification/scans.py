"""Stamped scans: checked by content, stored outside the web root under random names."""

import hashlib
import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import func, select

from portal.accounts.models import AccountState
from portal.audit.services import Origin, record_event
from portal.changes.models import ChangeState, ManagerChange
from portal.db_types import utcnow
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.registration.models import Application, ApplicationState
from portal.verification import qr, scan_checks
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
UNSHOWN_IN_NAMES = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


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

    The file is refused (UploadRejected) when it is not a PDF, JPEG or PNG, would cost too
    much to draw (scan_checks), or the filing already has UPLOAD_MAX_SCANS_PER_FILING scans.
    The QR code on the scan is read and compared with the filing's number: a scan of
    another filing's form is refused; one whose code cannot be read is kept and flagged.
    Every refusal comes before anything is written to disk.
    """
    data, content_type, extension = _checked_upload(stream)
    _check_room(filing)
    try:
        scan_checks.check_scan(
            data, content_type, scan_checks.ScanLimits.from_config(current_app.config)
        )
    except scan_checks.ScanRefused as refusal:
        raise UploadRejected(refusal.message) from refusal
    qr_status = _match_qr(data, content_type, _filing_number(filing))
    # Reading the QR code takes seconds; only now is the filing locked, so that two uploads
    # at once cannot both take the last place.
    _lock_filing(filing)
    _check_room(filing)
    scan = PaperScan(
        stored_name=secrets.token_hex(16) + extension,
        original_name=display_name(filename),
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        qr_status=qr_status,
    )
    _queue(filing, scan, origin)
    # The database sees the row before the file exists: a row it refuses leaves no file.
    db.session.flush()
    _write_then_commit(upload_dir() / scan.stored_name, data)
    return scan


def _filing_number(filing: Application | ManagerChange) -> str:
    return filing.change_no if isinstance(filing, ManagerChange) else filing.application_no


def _queue(filing: Application | ManagerChange, scan: PaperScan, origin: Origin) -> None:
    """Attach the scan to its filing, queue the filing for review, and audit the upload."""
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
        subject_id=_filing_number(filing),
        origin=origin,
        actor_account_id=(
            filing.filed_by_id if isinstance(filing, ManagerChange) else filing.account_id
        ),
        institution_id=filing.institution_id,
        detail={
            "sha256": scan.sha256,
            "size": scan.size,
            "type": scan.content_type,
            "qr": scan.qr_status,
        },
    )


def _write_then_commit(path: Path, data: bytes) -> None:
    """Write the scan's file, then commit; no file stays behind if either fails."""
    created = False
    try:
        # O_EXCL: a name already taken is an error, never another scan's file overwritten.
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        created = True
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        db.session.commit()
    except BaseException:  # a full disk, a refused commit, a worker stopped mid-way
        if created:
            path.unlink(missing_ok=True)
        raise


def _check_room(filing: Application | ManagerChange) -> None:
    """UploadRejected when the filing has all the scans it may have."""
    limit = current_app.config["UPLOAD_MAX_SCANS_PER_FILING"]
    column = PaperScan.change_id if isinstance(filing, ManagerChange) else PaperScan.application_id
    count = db.session.scalar(select(func.count()).where(column == filing.id))
    if count >= limit:
        raise UploadRejected(
            _l(
                "這件申請已上傳 %(count)d 份掃描檔，已達上限，不能再上傳。"
                "如需協助，請聯絡系統服務窗口。",
                count=count,
            )
        )


def _lock_filing(filing: Application | ManagerChange) -> None:
    """Lock the filing's row until the commit (SQLite serialises writers instead).

    FOR NO KEY UPDATE, the lock the state change below takes anyway: the scan's own
    foreign key (a KEY SHARE lock) does not wait for it.
    """
    model = type(filing)
    db.session.execute(
        select(model.id).where(model.id == filing.id).with_for_update(key_share=True)
    )


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
    application.paper_at = application.paper_at or utcnow()
    application.refusal_reason = None
    application.account.state = AccountState.PENDING


def _queue_change(change: ManagerChange) -> None:
    if change.state is not ChangeState.AWAITING_PAPER_REVIEW:
        change.step_started_at = utcnow()
    change.state = ChangeState.AWAITING_PAPER_REVIEW
    change.paper_at = change.paper_at or utcnow()
    change.refusal_reason = None


def upload_dir() -> Path:
    """Where scans live: outside the web root, created on first use."""
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def scan_path(scan: PaperScan) -> Path:
    """The stored file of a scan."""
    return upload_dir() / scan.stored_name


def scans_of(filing: Application | ManagerChange) -> list[PaperScan]:
    """Every scan uploaded for the application or change, newest first."""
    column = PaperScan.change_id if isinstance(filing, ManagerChange) else PaperScan.application_id
    return list(
        db.session.scalars(
            select(PaperScan).where(column == filing.id).order_by(PaperScan.id.desc())
        )
    )
