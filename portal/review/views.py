"""The help desk's queue of paper applications, the scan, and the decision."""

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import StaffRole
from portal.authz import staff_required
from portal.identity.identifiers import mask_national_id
from portal.localtime import local_now
from portal.registration import notifications as registration_notifications
from portal.registration.models import ApplicationState
from portal.registration.progress import STATE_LABELS
from portal.rendering import page_or_fragment, request_origin
from portal.review import services
from portal.security.national_ids import decrypt_national_id
from portal.verification import notifications, scans
from portal.workcalendar.services import current_calendar

bp = Blueprint("review", __name__, template_folder="templates", url_prefix="/review")
help_desk_required = staff_required(StaffRole.HELP_DESK)
REASON_MAX = 200


@bp.get("")
@help_desk_required
def queue():
    """Paper applications by due date; ?state= and ?institution_code= filter.

    "載入更多" carries ?after= (where the last page ended) and ?page= (its number, for the
    rows' element id); without a valid ?after= it is the first page.
    """
    state_value = request.args.get("state", ApplicationState.AWAITING_PAPER_REVIEW.value)
    state = next((s for s in services.QUEUE_STATES if s.value == state_value), None)
    state = state or ApplicationState.AWAITING_PAPER_REVIEW
    institution_code = request.args.get("institution_code", "").strip()[:10]
    after = services.QueuePosition.from_token(request.args.get("after", "")[:80])
    page = max(request.args.get("page", 1, type=int), 1) if after else 1
    items, following = services.queue(
        current_calendar(), local_now().date(), state, institution_code, after
    )
    return page_or_fragment(
        "review/queue.html",
        "review/_rows.html",
        items=items,
        following=following,
        page=page,
        state=state,
        states=services.QUEUE_STATES,
        labels=STATE_LABELS,
        institution_code=institution_code,
    )


def _detail_context(application, **extra) -> dict:
    national_id = decrypt_national_id(application.account.national_id_encrypted)
    return {
        "application": application,
        "scans": scans.scans_of(application),
        "masked_id": mask_national_id(national_id),
        "labels": STATE_LABELS,
        **extra,
    }


@bp.get("/<int:application_id>")
@help_desk_required
def detail(application_id: int):
    """The applicant's data (ID masked), the scans, and the decision buttons."""
    application = services.paper_application(application_id)
    return render_template("review/detail.html", **_detail_context(application))


@bp.post("/<int:application_id>/national-id")
@help_desk_required
def reveal_national_id(application_id: int):
    """Show the full ID number; recorded in the audit trail."""
    application = services.paper_application(application_id)
    services.record_id_revealed(current_user, application, request_origin())
    full_id = decrypt_national_id(application.account.national_id_encrypted)
    return page_or_fragment(
        "review/detail.html",
        "review/_national_id.html",
        **_detail_context(application, full_id=full_id),
    )


@bp.get("/<int:application_id>/scans/<int:scan_id>")
@help_desk_required
def scan(application_id: int, scan_id: int):
    """The uploaded file itself, always as an attachment."""
    item = services.scan_of(services.paper_application(application_id), scan_id)
    return send_file(
        scans.scan_path(item),
        mimetype=item.content_type,
        as_attachment=True,
        download_name=f"{item.application_id}-{item.id}{scans.scan_path(item).suffix}",
    )


@bp.get("/<int:application_id>/scans/<int:scan_id>/preview.png")
@help_desk_required
def preview(application_id: int, scan_id: int):
    """A picture of the scan's first page, for the detail page."""
    item = services.scan_of(services.paper_application(application_id), scan_id)
    path = scans.preview_png(item)
    if path is None:
        abort(404)
    mimetype = "image/png" if path.suffix == ".png" else item.content_type
    return send_file(path, mimetype=mimetype, max_age=0)


@bp.post("/<int:application_id>/decision")
@help_desk_required
def decide(application_id: int):
    """Approve, or refuse with a reason the applicant will read."""
    application = services.paper_application(application_id)
    approve = request.form.get("decision") == "approve"
    reason = request.form.get("reason", "").strip()[:REASON_MAX]
    if not approve and not reason:
        error = _("不核准時請填寫原因，申請人會收到這個原因。")
        return render_template(
            "review/detail.html", **_detail_context(application, reason_error=error)
        ), 422
    try:
        application = services.decide(
            current_user, application_id, approve, reason, request_origin()
        )
    except services.AlreadyDecided:
        flash(_("這件申請已由其他審核人員處理，未做任何變更。"))
        return redirect(url_for("review.detail", application_id=application_id), 303)
    if approve:
        notifications.send_verified(application)
    else:
        notifications.send_paper_refused(application)
        registration_notifications.send_left_without_manager(application.institution)
    flash(_("已完成審核：%(no)s", no=application.application_no))
    return redirect(url_for("review.queue"), 303)
