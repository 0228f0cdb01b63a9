"""Files of the public site, kept like stamped scans: type from content, outside the web root.

An uploaded file's type comes from its bytes, never from its name or the browser's word;
it is stored under CONTENT_UPLOAD_DIR by a random name, and served as an attachment under
the name it was uploaded with (RFC 5987, so 管理者手冊.pdf stays 管理者手冊.pdf), with the
extension of the type it really is.
"""

import hashlib
import io
import os
import secrets
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from flask import Response, current_app, send_file
from flask_babel import lazy_gettext as _l

from portal.content.downloads import attachment_disposition
from portal.content.models import ContentFile
from portal.verification.scans import display_name


@dataclass(frozen=True)
class FileType:
    """A type the site accepts: its MIME type, extension and what people call it."""

    mimetype: str
    extension: str
    label: str

    @property
    def is_picture(self) -> bool:
        """Pictures may be shown in a page; everything else is only downloaded."""
        return self.mimetype.startswith("image/")


PDF = FileType("application/pdf", ".pdf", "PDF")
PNG = FileType("image/png", ".png", "PNG")
JPEG = FileType("image/jpeg", ".jpg", "JPEG")
ZIP = FileType("application/zip", ".zip", "ZIP")
DOCX = FileType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx", "Word"
)
XLSX = FileType(
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx", "Excel"
)
ODT = FileType("application/vnd.oasis.opendocument.text", ".odt", "ODF 文件")
ODS = FileType("application/vnd.oasis.opendocument.spreadsheet", ".ods", "ODF 試算表")
TYPES = {t.mimetype: t for t in (PDF, PNG, JPEG, ZIP, DOCX, XLSX, ODT, ODS)}
SIGNATURES = {b"%PDF-": PDF, b"\x89PNG\r\n\x1a\n": PNG, b"\xff\xd8\xff": JPEG}
ZIP_SIGNATURE = b"PK\x03\x04"
# What the ODF `mimetype` member names, for the two ODF kinds accepted.
ODF_TYPES = {ODT.mimetype: ODT, ODS.mimetype: ODS}
# A ZIP's members are not opened here, only listed; this many is more than any document has.
MAX_ZIP_MEMBERS = 10_000


@dataclass(frozen=True)
class Upload:
    """An uploaded file that passed the checks, not yet stored."""

    data: bytes
    kind: FileType
    name: str


class FileRefused(Exception):
    """The file cannot be accepted; the message says why, next to the file field."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


def read_upload(stream: BinaryIO, filename: str | None) -> Upload:
    """The upload's bytes, its type and the name to show; FileRefused if not acceptable."""
    limit = current_app.config["CONTENT_UPLOAD_MAX_BYTES"]
    data = stream.read(limit + 1)
    if not data:
        raise FileRefused(_l("沒有收到檔案，請選擇檔案後再上傳。"))
    if len(data) > limit:
        raise FileRefused(_l("檔案超過 %(mb)d MB，無法上傳。", mb=limit // (1024 * 1024)))
    kind = detect_type(data)
    if kind is None:
        raise FileRefused(
            _l("只接受 PDF、PNG、JPEG、ZIP、Word、Excel 或 ODF 文件，這個檔案不是其中一種。")
        )
    return Upload(data, kind, shown_name(filename, kind))


def detect_type(data: bytes) -> FileType | None:
    """The accepted type the bytes show, if any: magic numbers, and for ZIPs their members."""
    kind = next((t for magic, t in SIGNATURES.items() if data.startswith(magic)), None)
    if kind is not None or not data.startswith(ZIP_SIGNATURE):
        return kind
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.namelist()
            if len(members) > MAX_ZIP_MEMBERS:
                return None
            if "mimetype" in members:
                return ODF_TYPES.get(archive.read("mimetype")[:100].decode("ascii", "replace"), ZIP)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError):
        return None
    if "[Content_Types].xml" in members:
        if any(name.startswith("word/") for name in members):
            return DOCX
        if any(name.startswith("xl/") for name in members):
            return XLSX
    return ZIP


def shown_name(filename: str | None, kind: FileType) -> str:
    """The uploaded name, cleaned for showing, ending in the extension of its real type."""
    name = display_name(filename)
    stem = PurePosixPath(name).stem if PurePosixPath(name).suffix else name
    stem = stem[: 200 - len(kind.extension)].strip() or "file"
    return stem + kind.extension


def new_file(upload: Upload) -> ContentFile:
    """The row of a new file (not yet added to the session, nor written)."""
    return ContentFile(
        stored_name=secrets.token_hex(16) + upload.kind.extension,
        original_name=upload.name,
        content_type=upload.kind.mimetype,
        size=len(upload.data),
        sha256=hashlib.sha256(upload.data).hexdigest(),
    )


def write_file(stored: ContentFile, data: bytes) -> Path:
    """Write the file's bytes under its random name; never over another file."""
    path = file_path(stored)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    return path


def remove_files(names: list[str]) -> None:
    """Delete stored files once the rows that named them are gone (missing ones are fine)."""
    for name in names:
        (upload_dir() / name).unlink(missing_ok=True)


def upload_dir() -> Path:
    """Where the site's files live: outside the web root, created on first use."""
    path = Path(current_app.config["CONTENT_UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def file_path(stored: ContentFile) -> Path:
    """The stored file of a row."""
    return upload_dir() / stored.stored_name


def type_label(mimetype: str) -> str:
    """What people call the type (PDF, Word…)."""
    kind = TYPES.get(mimetype)
    return kind.label if kind else mimetype


def ascii_fallback(stored: ContentFile) -> str:
    """A plain ASCII name for clients that do not read RFC 5987's filename*."""
    return f"file-{stored.id}{PurePosixPath(stored.stored_name).suffix}"


def send_stored(stored: ContentFile, inline_pictures: bool = False) -> Response:
    """The file as an attachment under its own name; a picture may be shown in the page.

    Only a type checked at upload is ever sent inline, and nosniff (set on every answer)
    keeps the browser from taking it for anything else.
    """
    kind = TYPES.get(stored.content_type)
    inline = inline_pictures and kind is not None and kind.is_picture
    response = send_file(
        file_path(stored), mimetype=stored.content_type, conditional=True, max_age=0
    )
    disposition = attachment_disposition(stored.original_name, ascii_fallback(stored))
    if inline:
        disposition = disposition.replace("attachment;", "inline;", 1)
    response.headers["Content-Disposition"] = disposition
    return response
