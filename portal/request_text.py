"""Text no page of ours sends is refused before any view reads it, with one plain 400.

NUL cannot be stored in a PostgreSQL text column, so a NUL that reaches a query is a 500
wherever it was typed; no keyboard types it and no file system names a file with it. A
control character in the address can end up in a header or a link; no link of ours has
one, and a browser drops line breaks from what is typed in a search box.
Header values are held to the address's rule, as gunicorn holds them: the audit trail keeps
the User-Agent, and the app should not rely on the server in front of it.
`next` is left to portal.redirects.safe_next, which reads it as a browser would, controls
included, and turns what is no page here into none: a link with one still signs people in.
Control characters a paste can bring into a form field get a message next to that field
instead (`portal.fields.PortalForm`).
"""

import re

from flask import Flask, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest

from portal.i18n import lazy_gettext as _l

# In the address (path and query string) and header values: every C0 control but tab.
ADDRESS_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f]")
REDIRECT_TARGET = "next"


class UnreadableText(BadRequest):
    """A NUL in what was sent, or a control character in the address or a header."""

    message = _l("送出的內容含有無法處理的控制字元（例如 NUL），請刪除後再試一次。")


def init_text_checks(app: Flask) -> None:
    """Register the hook that refuses such requests before any view (or CSRF check) runs."""

    @app.before_request
    def refuse_unreadable_text() -> None:
        if _unreadable():
            raise UnreadableText()


def _unreadable() -> bool:
    path = [value for value in (request.view_args or {}).values() if isinstance(value, str)]
    address = [*path, *_texts(request.args, skip=REDIRECT_TARGET), *request.headers.values()]
    if any(ADDRESS_CONTROLS.search(text) for text in address):
        return True
    names = [upload.filename or "" for _, upload in request.files.items(multi=True)]
    return any("\x00" in text for text in [*_texts(request.form), *request.files, *names])


def _texts(fields: MultiDict, skip: str = "") -> list[str]:
    """Every name and every value (repeated names included), but those of `skip`."""
    return [text for pair in fields.items(multi=True) if pair[0] != skip for text in pair]
