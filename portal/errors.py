"""Domain errors, and the one place that turns errors into HTTP answers a person can read.

Services know nothing of HTTP. They raise these; `register_error_pages` maps each to a
status, so a view that does not catch one still answers sensibly (an id of another
institution is a 404, a decision someone else took first a 409). HTTP errors and an expired
CSRF token are answered here too: a page, or for an HTMX request just the message, which the
page shows in its error banner.
"""

from datetime import datetime

from flask import Flask
from flask_limiter import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, SecurityError

from portal.extensions import db, limiter
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.localtime import TAIPEI, local_now
from portal.observability.request_ids import current_request_id


class DomainError(Exception):
    """A rule said no; `message` is for the person, `status` for the HTTP answer."""

    status = 400
    message = _l("這項操作無法完成。")

    def __str__(self) -> str:
        return str(self.message)


class NotInScope(DomainError):
    """No such thing, or not one this person may see: the same answer, so ids reveal nothing."""

    status = 404
    message = _l("找不到這個頁面或資料。")


class AlreadyDecided(DomainError):
    """Someone decided first; nothing was changed."""

    status = 409
    message = _l("這件申請已由其他人處理，未做任何變更。")


# What an HTTP error says to the person; any other status says the last one.
HTTP_MESSAGES = {
    401: _l("請先登入。"),
    403: _l("您沒有使用這項功能的權限。"),
    404: _l("找不到這個網頁。"),
    413: _l("送出的資料太大，系統無法處理。請減少內容後再試一次。"),
    429: _l("短時間內的操作次數過多，請稍候再試。"),
    500: _l("系統暫時無法處理這個要求，請稍後再試一次。"),
}
OTHER_HTTP_MESSAGE = _l("無法處理這個要求。")
# An HTMX request from a page whose form token has expired: only reloading the page helps.
PAGE_EXPIRED = _l("這一頁已過期，請重新整理後再試一次。")


def http_message(code: int | None) -> str:
    """The sentence for an HTTP error status."""
    return str(HTTP_MESSAGES.get(code or 500, OTHER_HTTP_MESSAGE))


def register_error_pages(app: Flask) -> None:
    """Answer domain errors, HTTP errors and expired CSRF tokens no view caught."""
    # Here, not at the top: rendering imports services, which import these errors.
    from portal.rendering import error_answer

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        # The session may hold what the refused work had changed: never render on top of it.
        db.session.rollback()
        return error_answer("errors/domain.html", error.status, str(error), error=error)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return error_answer("errors/csrf.html", 400, str(PAGE_EXPIRED))

    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError):
        # A Host not in TRUSTED_HOSTS: no URL can be built for it, so no page either.
        return (
            _("無法處理這個要求：網址不是本網站。"),
            400,
            {"Content-Type": "text/plain; charset=utf-8"},
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        retry_at = _retry_at() if isinstance(error, RateLimitExceeded) else None
        # An error that carries its own sentence (UnreadableText, say) says it; others by status.
        message = str(getattr(error, "message", "")) or http_message(error.code)
        # A failure of ours: the id finds its log lines, when the person quotes it.
        request_id = current_request_id() if (error.code or 500) >= 500 else None
        return error_answer(
            "errors/http.html",
            error.code,
            message,
            error=error,
            retry_at=retry_at,
            request_id=request_id,
        )


def _retry_at() -> str | None:
    """When the rate limit just refused reopens, in Taipei time ("HH:MM", dated if not today)."""
    refused = limiter.current_limit
    if refused is None:
        return None
    moment = datetime.fromtimestamp(refused.reset_at, TAIPEI)
    if moment.date() == local_now().date():
        return moment.strftime("%H:%M")
    return moment.strftime("%Y-%m-%d %H:%M")
