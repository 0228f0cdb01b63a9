"""Public pages and the health check."""

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from sqlalchemy import text

from portal.content import downloads
from portal.extensions import db
from portal.redirects import safe_next

bp = Blueprint("content", __name__, template_folder="templates")


@bp.get("/")
def home():
    """The portal's front page."""
    return render_template("content/home.html")


@bp.get("/healthz")
def healthz():
    """Liveness and database reachability, for load balancers."""
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/downloads/manager-change-form.pdf")
def blank_manager_form():
    """The blank 管理者帳號申請、異動表, for those who fill it in by hand."""
    return downloads.public_pdf(
        downloads.blank_manager_form_pdf(),
        downloads.BLANK_MANAGER_FORM_NAME,
        downloads.BLANK_MANAGER_FORM_ASCII_NAME,
    )


@bp.get("/language/<code>")
def set_language(code: str):
    """Remember the chosen language and go back where the person was."""
    if code in current_app.config["LANGUAGES"]:
        session["language"] = code
    # Only paths on this site: an open redirect would help phishing.
    return redirect(safe_next(request.args.get("next")) or url_for("content.home"))
