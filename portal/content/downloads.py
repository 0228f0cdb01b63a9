"""Files anyone may download: the blank paper forms, as stable public URLs."""

from functools import cache
from typing import Final
from urllib.parse import quote

from flask import Response, current_app, request

from portal.printing import render_blank_manager_form

BLANK_MANAGER_FORM_NAME: Final = "管理者帳號申請、異動表.pdf"
# For clients that do not read RFC 5987's filename* (they keep this plain ASCII name).
BLANK_MANAGER_FORM_ASCII_NAME: Final = "manager-change-form.pdf"
# The form changes only with a release: browsers and proxies may keep it for a day.
PUBLIC_MAX_AGE_SECONDS: Final = 24 * 60 * 60


@cache
def blank_manager_form_pdf() -> bytes:
    """The blank 管理者帳號申請、異動表, rendered on first use and kept for the process's life."""
    return render_blank_manager_form()


def public_pdf(pdf: bytes, filename: str, ascii_filename: str) -> Response:
    """A PDF download that anyone may cache for a day, answering If-None-Match with 304."""
    response = current_app.response_class(pdf, mimetype="application/pdf")
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
