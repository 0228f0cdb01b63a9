"""Domain errors: what services raise, and the one place that turns them into HTTP answers.

Services know nothing of HTTP. They raise these; `register_domain_errors` maps each to a
status, so a view that does not catch one still answers sensibly (an id of another
institution is a 404, a decision someone else took first a 409).
"""

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l

from portal.extensions import db


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


def register_domain_errors(app: Flask) -> None:
    """Answer a domain error no view caught with its status and message."""

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        # The session may hold what the refused work had changed: never render on top of it.
        db.session.rollback()
        return render_template("errors/domain.html", error=error), error.status
