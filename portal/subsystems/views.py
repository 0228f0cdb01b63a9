"""子系統權限審核 for a subsystem's administrators, and 我的子系統 for everyone signed in."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.accounts.models import StaffRole
from portal.authz import staff_required
from portal.db_types import parse_id
from portal.extensions import db
from portal.i18n import gettext as _
from portal.i18n import ngettext
from portal.oidc.clients import opening_address
from portal.redirects import safe_next
from portal.registration.progress import REQUEST_STATE_LABELS
from portal.rendering import request_origin
from portal.subsystems import services
from portal.subsystems.models import RequestState

bp = Blueprint("subsystems", __name__, template_folder="templates", url_prefix="/subsystem-admin")
mine_bp = Blueprint("my_subsystems", __name__, url_prefix="/my-subsystems")


@bp.get("/requests")
@staff_required(StaffRole.SUBSYSTEM_ADMIN)
def requests():
    """Requests for my subsystems, pending first; ?state= filters."""
    state = request.args.get("state", RequestState.PENDING.value)
    chosen = RequestState(state) if state in RequestState._value2member_map_ else None
    return render_template(
        "subsystems/requests.html",
        queue=services.requests_for_admin(current_user, chosen),
        state=chosen,
        states=RequestState,
        labels=REQUEST_STATE_LABELS,
    )


@bp.get("/requests/<int:request_id>")
@staff_required(StaffRole.SUBSYSTEM_ADMIN)
def detail(request_id: int):
    """One request for one of my subsystems."""
    item = services.request_in_scope(current_user, request_id)
    return render_template("subsystems/request.html", item=item, labels=REQUEST_STATE_LABELS)


@bp.post("/requests/<int:request_id>/<any(approve, refuse, revoke):action>")
@staff_required(StaffRole.SUBSYSTEM_ADMIN)
def decide(request_id: int, action: str):
    """Approve, refuse (with a reason) or revoke one request."""
    reason = request.form.get("reason", "")
    try:
        item = services.decide_request(current_user, request_id, action, request_origin(), reason)
    except services.AlreadyDecided:
        flash(_("這件申請已由其他管理者處理，未做任何變更。"))
    except (services.ReasonNeeded, services.AccountNotActiveYet) as error:
        item = services.request_in_scope(current_user, request_id)
        return render_template(
            "subsystems/request.html",
            item=item,
            labels=REQUEST_STATE_LABELS,
            reason_error=str(error) if isinstance(error, services.ReasonNeeded) else None,
            refusal=None if isinstance(error, services.ReasonNeeded) else str(error),
        ), error.status
    else:
        flash(
            _(
                "%(name)s 的 %(subsystem)s 權限：%(state)s",
                name=item.account.name,
                subsystem=item.subsystem.name,
                state=REQUEST_STATE_LABELS[item.state],
            )
        )
    return redirect(url_for("subsystems.requests"), 303)


@bp.post("/requests/approve")
@staff_required(StaffRole.SUBSYSTEM_ADMIN)
def approve_selected():
    """Approve the ticked requests at once."""
    ids = []
    for value in request.form.getlist("request_ids")[:500]:
        try:
            ids.append(parse_id(value))
        except ValueError:
            continue
    if not ids:
        flash(_("請先勾選要核准的申請。"))
        return redirect(url_for("subsystems.requests"), 303)
    approved, skipped = services.approve_many(current_user, ids, request_origin())
    message = ngettext("已核准 %(num)d 件申請。", "已核准 %(num)d 件申請。", approved)
    if skipped:
        message += " " + _(
            "%(skipped)d 件已由其他管理者處理或帳號未啟用，未變更。", skipped=skipped
        )
    flash(message)
    return redirect(url_for("subsystems.requests"), 303)


def _ask_refused(message: str, resume: str | None):
    """The refused request again, on the page it came from, with what was typed."""
    from portal.accounts.views import render_home
    from portal.oidc.access import access_to
    from portal.subsystems.models import Subsystem

    code = request.form.get("subsystem", "")[:40]
    subsystem = db.session.scalar(select(Subsystem).where(Subsystem.code == code))
    if resume and subsystem is not None:
        return render_template(
            "oidc/access_missing.html",
            standing=access_to(current_user, subsystem.id),
            subsystem=subsystem,
            resume=resume,
            ask_error=message,
            justification=request.form.get("justification", ""),
        ), 422
    return render_home(ask_error=message, ask_values=request.form, status=422)


def _back_to(target: str | None):
    """Back to the page the form was on (the sign-in that found access missing), or 我的帳號."""
    return redirect(safe_next(target) or url_for("accounts.home", _anchor="my-subsystems"), 303)


@mine_bp.post("/ask")
@login_required
def ask():
    """Ask for a subsystem with a short justification."""
    resume = safe_next(request.form.get("resume"))
    try:
        item = services.ask_for_access(
            current_user,
            request.form.get("subsystem", ""),
            request.form.get("justification", ""),
            request_origin(),
            resume_path=resume if resume and resume.startswith("/oidc/authorize?") else None,
        )
    except services.AccessRequestRefused as error:
        return _ask_refused(str(error), resume)
    flash(_("已送出「%(name)s」的申請，請待子系統管理者審核。", name=item.subsystem.name))
    return _back_to(resume)


@mine_bp.post("/<int:request_id>/withdraw")
@login_required
def withdraw(request_id: int):
    """Withdraw a request still waiting."""
    try:
        name = services.withdraw_request(current_user, request_id, request_origin())
    except services.AlreadyDecided:
        flash(_("這件申請已經審核完成，無法撤回。"))
    else:
        flash(_("已撤回「%(name)s」的申請。", name=name))
    return _back_to(None)


@mine_bp.get("/<code>/open")
@login_required
def open_subsystem(code: str):
    """開啟: on to the subsystem, which signs the person in through the portal."""
    return redirect(opening_address(current_user, code[:40]), 303)
