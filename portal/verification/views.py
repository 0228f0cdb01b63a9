"""The applicant verifies a manager application: institution card, or stamped paper.

The applicant has no session of their own yet; the application they may verify is the one
they just submitted, or the one they found on the progress page with its ID number.
"""

import base64
import binascii
from dataclasses import dataclass

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from portal.db_types import parse_id
from portal.extensions import limiter
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.localtime import local_date
from portal.printing import ManagerFormData, render_manager_form
from portal.registration.models import Application
from portal.registration.services import application_by_number
from portal.rendering import allows_large_body, portal_origin, request_origin
from portal.verification import scans, services
from portal.verification.form_pages import form_page

bp = Blueprint("verification", __name__, template_folder="templates", url_prefix="/verification")

SESSION_KEY = "verifying_application_no"
# The PIN lengths card.js checks before anything is sent: those the card helper accepts
# (card_helper.backends.base; the helper never imports the portal, nor the portal it).
PIN_LENGTHS = range(4, 16 + 1)
INCOMPLETE_ANSWER = _l("讀卡程式傳回的資料不完整，請再驗證一次。")
# Uploads of stamped scans, here and for manager changes, counted together per address.
upload_limit = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_SCAN_UPLOAD"], scope="scan_upload", methods=["POST"]
)


def allow_verification(application_no: str) -> None:
    """Let this browser verify the application (after submitting it, or proving the ID)."""
    session[SESSION_KEY] = application_no


def _application() -> Application | None:
    number = session.get(SESSION_KEY) or session.get("submitted_application_no")
    return application_by_number(number) if number else None


def _render_card_page(application: Application, refusal: str | None = None, status: int = 200):
    challenge = None
    if services.manager_application_awaiting(application):
        challenge = services.issue_challenge(application, portal_origin())
    return render_template(
        "verification/card.html",
        filing_no=application.application_no,
        institution=application.institution,
        challenge=challenge,
        refusal=refusal,
        helper_url=current_app.config["CARD_HELPER_URL"],
        pin_lengths=PIN_LENGTHS,
        answer_url=url_for("verification.card_answer"),
        paper_url=url_for("verification.paper"),
        what=None,
    ), status


@bp.get("")
def card():
    """醫事機構卡驗證: the page hands a fresh challenge to the local card helper."""
    application = _application()
    if application is None or not application.is_manager_application:
        return redirect(url_for("registration.status"))
    return _render_card_page(application)


@bp.post("/card")
def card_answer():
    """Check the certificate and signature the card helper returned."""
    application = _application()
    if application is None:
        return redirect(url_for("registration.status"))
    answer = card_answer_from(request.form)
    if answer is None:
        return _render_card_page(application, str(INCOMPLETE_ANSWER), 422)
    try:
        services.verify_with_card(
            application,
            answer.challenge_id,
            answer.certificate,
            answer.signature,
            request_origin(),
            portal_origin(),
        )
    except services.VerificationRefused as refusal:
        return _render_card_page(application, str(refusal.message), 422)
    return redirect(url_for("verification.done"), 303)


@bp.get("/card-helper")
def helper_guide():
    """安裝機構卡讀卡程式: what the clinic installs, and how it starts at login."""
    return render_template(
        "verification/helper_guide.html",
        expected_version=current_app.config["CARD_HELPER_MIN_VERSION"],
        portal=portal_origin(),
    )


@bp.get("/done")
def done():
    """The account is open."""
    application = _application()
    if application is None:
        return redirect(url_for("registration.status"))
    return render_template("verification/done.html", application=application)


@bp.get("/paper")
def paper():
    """紙本審核: print the pre-filled form, stamp it, upload the scan."""
    application = _application()
    if application is None or not application.is_manager_application:
        return redirect(url_for("registration.status"))
    return _render_paper_page(application)


def _render_paper_page(
    application: Application, upload_error: str | None = None, status: int = 200
):
    history = scans.scans_of(application)
    return render_template(
        "verification/paper.html",
        application=application,
        history=history,
        upload_error=upload_error,
        max_mb=current_app.config["UPLOAD_MAX_BYTES"] // (1024 * 1024),
    ), status


@bp.get("/paper/form.pdf")
def paper_form():
    """The application as the agency's form, pre-filled, as a PDF to print."""
    application = _application()
    if application is None or not application.is_manager_application:
        return redirect(url_for("registration.status"))
    pdf = render_manager_form(form_data(application))
    response = current_app.response_class(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="manager-form-{application.application_no}.pdf"'
    )
    return response


def form_data(application: Application) -> ManagerFormData:
    """What the printed form A shows for this manager application."""
    return form_page(
        application.account,
        application.institution,
        application.application_no,
        local_date(application.submitted_at),
        "A",
    )


@dataclass(frozen=True)
class CardAnswer:
    """What card.js posts back from the card helper."""

    challenge_id: int
    certificate: bytes
    signature: bytes


def card_answer_from(form) -> CardAnswer | None:
    """The card helper's answer as posted; None when it is not complete or not base64."""
    try:
        return CardAnswer(
            challenge_id=parse_id(form.get("challenge_id")),
            certificate=base64.b64decode(form.get("certificate", ""), validate=True),
            signature=base64.b64decode(form.get("signature", ""), validate=True),
        )
    except (binascii.Error, ValueError):
        return None


@bp.post("/paper")
@upload_limit
@allows_large_body("UPLOAD_MAX_BYTES")
def paper_upload():
    """Upload the stamped scan (PDF, JPEG or PNG, at most UPLOAD_MAX_BYTES)."""
    application = _application()
    if application is None or not application.is_manager_application:
        return redirect(url_for("registration.status"))
    if not services.manager_application_awaiting(application) and (
        application.state != "awaiting_paper_review"
    ):
        return _render_paper_page(application, _("這件申請目前不需要上傳。"), 409)
    upload = request.files.get("scan")
    if upload is None or not upload.filename:
        return _render_paper_page(application, _("請選擇要上傳的掃描檔。"), 422)
    try:
        scans.store_scan(application, upload.stream, upload.filename, request_origin())
    except scans.UploadRejected as rejection:
        return _render_paper_page(application, str(rejection.message), 422)
    return redirect(url_for("verification.paper"), 303)
