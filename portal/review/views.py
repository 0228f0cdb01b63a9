"""The help desk's queue of paper applications (A) and changes (B, C), the scans, the decisions."""

from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from portal.accounts.models import StaffRole
from portal.authz import staff_required
from portal.changes import decisions as change_decisions
from portal.changes.labels import ACTION_LABELS, KIND_LABELS
from portal.changes.labels import STATE_LABELS as CHANGE_STATE_LABELS
from portal.changes.services import ChangeRefused, NoLongerApplies
from portal.i18n import gettext as _
from portal.i18n import lazy_gettext as _l
from portal.identity.identifiers import mask_national_id
from portal.localtime import local_now
from portal.registration.models import ApplicationState
from portal.registration.progress import STATE_LABELS
from portal.rendering import page_argument, page_or_fragment, request_origin
from portal.review import services
from portal.security.national_ids import decrypt_national_id
from portal.verification import previews, scans
from portal.workcalendar.services import current_calendar

# The queue holds applications and changes alike: its states are named for both.
QUEUE_STATE_LABELS = {
    ApplicationState.AWAITING_PAPER_REVIEW: _l("紙本審核中"),
    ApplicationState.REFUSED: _l("未核准"),
    ApplicationState.APPROVED: _l("已核准"),
}

bp = Blueprint("review", __name__, template_folder="templates", url_prefix="/review")
help_desk_required = staff_required(StaffRole.HELP_DESK)
REASON_MAX = 200
# "載入更多" numbers the pages it adds, for their element ids; nobody clicks this far.
LAST_PAGE = 10_000


@bp.get("")
@help_desk_required
def queue():
    """Paper filings by due date; ?state=, ?kind= and ?institution_code= filter.

    "載入更多" carries ?after= (where the last page ended) and ?page= (its number, for the
    rows' element id); without a valid ?after= it is the first page.
    """
    chosen = _queue_filter()
    after = services.QueuePosition.from_token(request.args.get("after", "")[:80])
    page = page_argument(LAST_PAGE) if after else 1
    items, following = services.queue(current_calendar(), local_now().date(), chosen, after)
    return page_or_fragment(
        "review/queue.html",
        "review/_rows.html",
        items=items,
        following=following,
        page=page,
        chosen=chosen,
        states=services.QUEUE_STATES,
        kinds=services.QUEUE_KINDS,
        labels=QUEUE_STATE_LABELS,
        kind_labels={services.FORM_A: _("A. 初次管理者帳號申請"), **KIND_LABELS},
        counts=services.counts_by_state(chosen) if not after else {},
        count_cap=services.COUNT_CAP,
    )


def _queue_filter() -> services.QueueFilter:
    state_value = request.args.get("state", ApplicationState.AWAITING_PAPER_REVIEW.value)
    state = next((s for s in services.QUEUE_STATES if s.value == state_value), None)
    kind = request.args.get("kind", "")
    return services.QueueFilter(
        state=state or ApplicationState.AWAITING_PAPER_REVIEW,
        kind=kind if kind in services.QUEUE_KINDS else "",
        institution_code=request.args.get("institution_code", "").strip()[:10],
    )


def _masked(account) -> str:
    return mask_national_id(decrypt_national_id(account.national_id_encrypted))


def _scans_context(filing) -> dict:
    """The filing's scans, and those already known not to draw (the page says so)."""
    items = scans.scans_of(filing)
    return {"scans": items, "unpreviewable": {s.id for s in items if previews.preview_failed(s)}}


def _detail_context(application, **extra) -> dict:
    return {
        "application": application,
        **_scans_context(application),
        "masked_id": _masked(application.account),
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


def _send_scan(filing, scan_id: int):
    item = services.scan_of(filing, scan_id)
    path = scans.scan_path(item)
    return send_file(
        path,
        mimetype=item.content_type,
        as_attachment=True,
        download_name=f"{filing.id}-{item.id}{path.suffix}",
    )


def _send_preview(filing, scan_id: int):
    item = services.scan_of(filing, scan_id)
    path = previews.preview_file(item)
    if path is None:
        # An <img> shows a picture, not an error page: one that says to download the file.
        response = make_response(render_template("review/preview_unavailable.svg"))
        response.mimetype = "image/svg+xml"
        return response
    mimetype = "image/png" if path.suffix == ".png" else item.content_type
    return send_file(path, mimetype=mimetype, max_age=0)


@bp.get("/<int:application_id>/scans/<int:scan_id>")
@help_desk_required
def scan(application_id: int, scan_id: int):
    """The uploaded file itself, always as an attachment."""
    return _send_scan(services.paper_application(application_id), scan_id)


@bp.get("/<int:application_id>/scans/<int:scan_id>/preview.png")
@help_desk_required
def preview(application_id: int, scan_id: int):
    """A picture of the scan's first page, for the detail page."""
    return _send_preview(services.paper_application(application_id), scan_id)


def _decision_form() -> tuple[bool, str, dict]:
    """The decision, its reason, and the errors to show next to the fields."""
    approve = request.form.get("decision") == "approve"
    reason = request.form.get("reason", "").strip()[:REASON_MAX]
    errors = {}
    if approve and request.form.get("confirm") != "yes":
        errors["confirm_error"] = _("請先勾選確認已核對掃描檔上的關防與申請內容，再核准。")
    if not approve and not reason:
        errors["reason_error"] = _("不核准時請填寫原因，申請人會收到這個原因。")
    return approve, reason, errors


@bp.post("/<int:application_id>/decision")
@help_desk_required
def decide(application_id: int):
    """Approve (confirmed), or refuse with a reason the applicant will read."""
    application = services.paper_application(application_id)
    approve, reason, errors = _decision_form()
    if errors:
        return render_template("review/detail.html", **_detail_context(application, **errors)), 422
    try:
        application = services.decide(
            current_user, application_id, approve, reason, request_origin()
        )
    except services.AlreadyDecided:
        flash(_("這件申請已由其他審核人員處理，未做任何變更。"))
        return redirect(url_for("review.detail", application_id=application_id), 303)
    if approve:
        flash(_("已核准 %(no)s，管理者帳號已啟用。", no=application.application_no))
    else:
        flash(_("已不核准 %(no)s，申請人會收到原因。", no=application.application_no))
    return redirect(url_for("review.queue"), 303)


def _change_context(change, **extra) -> dict:
    return {
        "change": change,
        **_scans_context(change),
        "masked_ids": {item.account_id: _masked(item.account) for item in change.items},
        "kind_labels": KIND_LABELS,
        "action_labels": ACTION_LABELS,
        "state_labels": CHANGE_STATE_LABELS,
        **extra,
    }


@bp.get("/changes/<int:change_id>")
@help_desk_required
def change_detail(change_id: int):
    """A manager change: the people it changes (IDs masked), the scans, the decision."""
    change = services.paper_change(change_id)
    return render_template("review/change_detail.html", **_change_context(change))


@bp.get("/changes/<int:change_id>/scans/<int:scan_id>")
@help_desk_required
def change_scan(change_id: int, scan_id: int):
    """The uploaded file itself, always as an attachment."""
    return _send_scan(services.paper_change(change_id), scan_id)


@bp.get("/changes/<int:change_id>/scans/<int:scan_id>/preview.png")
@help_desk_required
def change_preview(change_id: int, scan_id: int):
    """A picture of the scan's first page."""
    return _send_preview(services.paper_change(change_id), scan_id)


@bp.post("/changes/<int:change_id>/decision")
@help_desk_required
def decide_change(change_id: int):
    """Approve (the change applies at once) or refuse with a reason."""
    change = services.paper_change(change_id)
    approve, reason, errors = _decision_form()
    if errors:
        return render_template(
            "review/change_detail.html", **_change_context(change, **errors)
        ), 422
    try:
        change = change_decisions.decide_on_paper(
            current_user.id, change_id, approve, reason, request_origin()
        )
    except services.AlreadyDecided:
        flash(_("這件申請已由其他審核人員處理，未做任何變更。"))
        return redirect(url_for("review.change_detail", change_id=change_id), 303)
    except (ChangeRefused, NoLongerApplies) as refusal:
        change = services.paper_change(change_id)
        return render_template(
            "review/change_detail.html", **_change_context(change, apply_error=str(refusal))
        ), 409
    if approve:
        flash(_("已核准 %(no)s，異動已生效。", no=change.change_no))
    else:
        flash(_("已不核准 %(no)s，申請人會收到原因。", no=change.change_no))
    return redirect(url_for("review.queue"), 303)
