"""The empty application form, rendered once per language and reused.

GET /register is the portal's busiest page, and for an anonymous visitor without query
arguments it is the same for everyone but two tokens: the CSRF token and the form's
one-time submission token. Rendering it (WTForms widgets, some forty translated strings)
costs about ten times a trivial request, so the rendered page is kept with placeholders for
the two tokens, filled in per request. It is rendered again after TTL_SECONDS, so that a
change to the subsystems offered shows within a minute.
"""

import secrets
import threading
import time
from collections.abc import Callable

from flask import Flask
from flask_wtf.csrf import generate_csrf

CSRF_MARK = "csrf0placeholder0for0blank0form"
SUBMISSION_MARK = "submission0placeholder0for0blank0form"
TTL_SECONDS = 60


class BlankFormCache:
    """Rendered blank forms of one app, by language."""

    def __init__(self) -> None:
        self._pages: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def page(self, locale: str, render: Callable[[str, str], str]) -> str:
        """The blank form for this language, with this request's own tokens."""
        with self._lock:
            cached = self._pages.get(locale)
        if cached is None or time.monotonic() - cached[0] > TTL_SECONDS:
            cached = (time.monotonic(), render(CSRF_MARK, SUBMISSION_MARK))
            with self._lock:
                self._pages[locale] = cached
        html = cached[1]
        return html.replace(CSRF_MARK, generate_csrf()).replace(
            SUBMISSION_MARK, secrets.token_urlsafe(32)
        )


def blank_form_cache(app: Flask) -> BlankFormCache:
    """The app's cache (one per app, so tests with several apps never share pages)."""
    return app.extensions.setdefault("blank_registration_form", BlankFormCache())
