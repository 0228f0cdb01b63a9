"""管理者異動: file a change, verify it with the card or on paper, follow it, withdraw it."""

from functools import wraps

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from portal.changes import decisions, services
from portal.changes.forms import ChangeForm
from portal.changes.labels import ACTION_LABELS, KIND_LABELS, STATE_LABELS
from portal.changes.models import ChangeState, ManagerChange
from portal.changes.printing import change_form_pdf
from portal.changes.progress import change_progress
from portal.i18n import gettext as _
from portal.rendering import allows_large_body, portal_origin, request_origin
from portal.verification import scans
from portal.verification.services import VerificationRefused, issue_challenge
from portal.verification.views import (
    INCOMPLETE_ANSWER,
    PIN_LENGTHS,
    card_answer_from,
    upload_limit,
)

bp = Blueprint("changes", __name__, template_folder="templates", url_prefix="/manager-changes")


def institution_member_required(view):
    """Only signed-in, active staff of an institution (managers and general users)."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if current_user.role is None:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


def _filed_by_me(change_id: int) -> ManagerChange:
    """A change the signed-in person filed: only the filer verifies or withdraws it."""
    change = services.change_in_scope(current_user, change_id)
    if change.filed_by_id != current_user.id:
        abort(404)
    return change


@bp.get("")
@institution_member_required
def index():
    """Filings of this institution (managers) or of this person."""
    changes = (
        services.institution_changes(current_user)
        if current_user.is_manager
        else services.changes_of(current_user)
    )
    return render_template(
        "changes/index.html", changes=changes, kind_labels=KIND_LABELS, state_labels=STATE_LABELS
    )


@bp.route("/new", methods=["GET", "POST"])
@institution_member_required
def new():
    """File a change; refused before anything is printed if it breaks a rule."""
    form = ChangeForm(formdata=request.form if request.method == "POST" else request.args)
    form.for_filer(current_user, services.candidates(current_user))
    if request.method == "GET":
        return render_template("changes/new.html", form=form, offer_handover=False)
    if form.validate():
        try:
            change = services.file_change(current_user, form.filing(), request_origin())
        except services.ChangeRefused as refusal:
            getattr(form, refusal.field).errors = [str(refusal.message)]
            offer = isinstance(refusal, services.WouldLeaveNoManager)
            return render_template("changes/new.html", form=form, offer_handover=offer), 422
        flash(
            _(
                "已送出異動申請，編號 %(no)s。請接著以機構卡驗證，或列印申請表用印後上傳。",
                no=change.change_no,
            )
        )
        return redirect(url_for("changes.detail", change_id=change.id), 303)
    return render_template("changes/new.html", form=form, offer_handover=False), 422


def _render_detail(change: ManagerChange, upload_error: str | None = None, status: int = 200):
    return render_template(
        "changes/detail.html",
        change=change,
        progress=change_progress(change),
        scans=scans.scans_of(change),
        kind_labels=KIND_LABELS,
        action_labels=ACTION_LABELS,
        state_labels=STATE_LABELS,
        upload_error=upload_error,
        card_enabled=current_app.config["MANAGER_CHANGE_CARD_ENABLED"],
        max_mb=current_app.config["UPLOAD_MAX_BYTES"] // (1024 * 1024),
    ), status


@bp.get("/<int:change_id>")
@institution_member_required
def detail(change_id: int):
    """The filing, its step and due date, and what the filer does next."""
    return _render_detail(services.change_in_scope(current_user, change_id))


@bp.post("/<int:change_id>/withdraw")
@institution_member_required
def withdraw(change_id: int):
    """The filer takes the filing back."""
    try:
        change = services.withdraw(current_user, change_id, request_origin())
    except services.NotOpen:
        flash(_("這件異動申請已經結束，不能撤回。"))
    else:
        flash(_("已撤回異動申請 %(no)s。", no=change.change_no))
    return redirect(url_for("changes.detail", change_id=change_id), 303)


@bp.get("/<int:change_id>/form.pdf")
@institution_member_required
def form_pdf(change_id: int):
    """The filing as the agency's form, one page per person, to print and stamp."""
    change = _filed_by_me(change_id)
    response = current_app.response_class(change_form_pdf(change), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="manager-change-{change.change_no}.pdf"'
    )
    return response


@bp.post("/<int:change_id>/scans")
@institution_member_required
@upload_limit
@allows_large_body("UPLOAD_MAX_BYTES")
def upload(change_id: int):
    """Upload the stamped scan; the QR code on it must be this filing's."""
    change = _filed_by_me(change_id)
    if not change.is_open:
        return _render_detail(change, _("這件異動申請已經結束，不需要上傳。"), 409)
    upload_file = request.files.get("scan")
    if upload_file is None or not upload_file.filename:
        return _render_detail(change, _("請選擇要上傳的掃描檔。"), 422)
    try:
        scans.store_scan(change, upload_file.stream, upload_file.filename, request_origin())
    except scans.UploadRejected as rejection:
        return _render_detail(change, str(rejection.message), 422)
    flash(_("已收到掃描檔，系統服務窗口會在期限內審核。"))
    return redirect(url_for("changes.detail", change_id=change_id), 303)


def _render_card(change: ManagerChange, refusal: str | None = None, status: int = 200):
    awaiting = change.state in (ChangeState.AWAITING_VERIFICATION, ChangeState.REFUSED)
    return render_template(
        "verification/card.html",
        filing_no=change.change_no,
        institution=change.institution,
        challenge=issue_challenge(change, portal_origin()) if awaiting else None,
        refusal=refusal,
        helper_url=current_app.config["CARD_HELPER_URL"],
        pin_lengths=PIN_LENGTHS,
        answer_url=url_for("changes.card_answer", change_id=change.id),
        what=_describe(change),
        paper_url=url_for("changes.detail", change_id=change.id),
    ), status


def _describe(change: ManagerChange) -> str:
    """The filing in one line: its kind, and who becomes what."""
    items = "、".join(
        f"{item.account.name}（{item.account.username}）{ACTION_LABELS[item.action]}"
        for item in change.items
    )
    return f"{KIND_LABELS[change.kind]}：{items}"


@bp.get("/<int:change_id>/card")
@institution_member_required
def card(change_id: int):
    """醫事機構卡驗證 of a change: applied at once when the card checks."""
    if not current_app.config["MANAGER_CHANGE_CARD_ENABLED"]:
        abort(404)
    return _render_card(_filed_by_me(change_id))


@bp.post("/<int:change_id>/card")
@institution_member_required
def card_answer(change_id: int):
    """Check the certificate and signature the card helper returned, and apply the change."""
    if not current_app.config["MANAGER_CHANGE_CARD_ENABLED"]:
        abort(404)
    change = _filed_by_me(change_id)
    answer = card_answer_from(request.form)
    if answer is None:
        return _render_card(change, str(INCOMPLETE_ANSWER), 422)
    try:
        decisions.verify_with_card(
            current_user.id,
            change_id,
            answer.challenge_id,
            answer.certificate,
            answer.signature,
            request_origin(),
            portal_origin(),
        )
    except VerificationRefused as refusal:
        return _render_card(change, str(refusal.message), 422)
    except services.ChangeRefused as refusal:
        return _render_card(change, str(refusal.message), 409)
    except services.NoLongerApplies as refusal:
        return _render_card(change, str(refusal.message), 409)
    flash(_("機構卡驗證成功，異動已生效。"))
    return redirect(url_for("changes.detail", change_id=change_id), 303)
