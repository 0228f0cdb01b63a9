"""Files the portal itself provides: the blank paper forms, and what the build produces.

Each is a *built-in download*: a key in BUILT_IN, with a name, a type and a function that
gives its bytes (None while the file does not exist yet). 下載專區 lists a built-in through
a `downloads` row naming its key, which the administrator may retitle, describe, schedule or
take down, but whose file comes only from here. The migration that made the table added
the two below; another built-in is registered with `register_built_in` and given a row the
same way (a migration, or `flask load-demo` for demo data).

The card helper's package is built outside the portal (by its own build step) and put in
BUILT_DOWNLOADS_DIR as `card-helper.zip` (`make card-helper`), with its version in the
archive's VERSION member; until it is there, 下載專區 names it as coming soon.
"""

import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Final
from urllib.parse import quote

from flask import Response, current_app, request

from portal.printing import render_blank_manager_form

BLANK_MANAGER_FORM_NAME: Final = "管理者帳號申請、異動表.pdf"
# For clients that do not read RFC 5987's filename* (they keep this plain ASCII name).
BLANK_MANAGER_FORM_ASCII_NAME: Final = "manager-change-form.pdf"
# The form changes only with a release: browsers and proxies may keep it for a day.
PUBLIC_MAX_AGE_SECONDS: Final = 24 * 60 * 60
BLANK_MANAGER_FORM_KEY: Final = "manager-change-form"
CARD_HELPER_KEY: Final = "card-helper"
CARD_HELPER_FILE: Final = "card-helper.zip"


@dataclass(frozen=True)
class BuiltInFile:
    """A download whose bytes the portal provides; `load` gives None until they exist."""

    key: str
    filename: str
    ascii_filename: str
    mimetype: str
    load: Callable[[], bytes | None]
    # The version a package names inside itself, if it names one.
    version_of: Callable[[bytes], str | None] | None = None


@dataclass(frozen=True)
class FileFacts:
    """What 下載專區 says of a file: its size, SHA-256 and, for a package, its version."""

    size: int
    sha256: str
    version: str | None = None


BUILT_IN: dict[str, BuiltInFile] = {}


def register_built_in(built_in: BuiltInFile) -> None:
    """Make a built-in download known by its key (a `downloads` row then lists it)."""
    BUILT_IN[built_in.key] = built_in


@cache
def blank_manager_form_pdf() -> bytes:
    """The blank 管理者帳號申請、異動表, rendered on first use and kept for the process's life."""
    return render_blank_manager_form()


def card_helper_package() -> bytes | None:
    """The card helper's package as the build left it, or None before it is built."""
    path = Path(current_app.config["BUILT_DOWNLOADS_DIR"]) / CARD_HELPER_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def card_helper_version(package: bytes) -> str | None:
    """The version the build wrote into the package (its VERSION member), or None."""
    try:
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            text = archive.read("VERSION").decode("ascii").strip()
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError):
        return None
    return text if text and len(text) <= 20 else None


register_built_in(
    BuiltInFile(
        BLANK_MANAGER_FORM_KEY,
        BLANK_MANAGER_FORM_NAME,
        BLANK_MANAGER_FORM_ASCII_NAME,
        "application/pdf",
        blank_manager_form_pdf,
    )
)
register_built_in(
    BuiltInFile(
        CARD_HELPER_KEY,
        "機構卡驗證元件.zip",
        CARD_HELPER_FILE,
        "application/zip",
        card_helper_package,
        card_helper_version,
    )
)


def built_in_facts(key: str) -> FileFacts | None:
    """Size and SHA-256 of a built-in's bytes; None while it has none (or the key is unknown).

    Kept per content: a list showing the blank form hashes it once per process, not once
    per page; a rebuilt package has other bytes, so its facts are made anew.
    """
    built_in = BUILT_IN.get(key)
    data = built_in.load() if built_in else None
    if data is None:
        return None
    return _facts(data, built_in.version_of)


@lru_cache(maxsize=16)
def _facts(data: bytes, version_of: Callable[[bytes], str | None] | None) -> FileFacts:
    version = version_of(data) if version_of else None
    return FileFacts(len(data), hashlib.sha256(data).hexdigest(), version)


def send_built_in(key: str) -> Response | None:
    """The built-in's file as a download anyone may keep a day; None if it has no bytes yet."""
    built_in = BUILT_IN.get(key)
    data = built_in.load() if built_in else None
    if data is None:
        return None
    return public_file(data, built_in.mimetype, built_in.filename, built_in.ascii_filename)


def public_pdf(pdf: bytes, filename: str, ascii_filename: str) -> Response:
    """A PDF download that anyone may cache for a day, answering If-None-Match with 304."""
    return public_file(pdf, "application/pdf", filename, ascii_filename)


def public_file(data: bytes, mimetype: str, filename: str, ascii_filename: str) -> Response:
    """A download that anyone may cache for a day, answering If-None-Match with 304."""
    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = attachment_disposition(filename, ascii_filename)
    response.cache_control.public = True
    response.cache_control.max_age = PUBLIC_MAX_AGE_SECONDS
    response.add_etag()
    return response.make_conditional(request)


def attachment_disposition(filename: str, ascii_filename: str) -> str:
    """`Content-Disposition: attachment` naming the file in UTF-8 (RFC 5987), with a fallback."""
    if not ascii_filename.isascii() or any(c in ascii_filename for c in '"\\'):
        raise ValueError(f"not a plain ASCII file name: {ascii_filename!r}")
    return f"attachment; filename=\"{ascii_filename}\"; filename*=UTF-8''{quote(filename, safe='')}"
