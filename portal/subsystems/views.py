"""子系統權限審核: a subsystem administrator decides on requests for their subsystems."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.accounts.models import StaffRole
from portal.authz import staff_required
from portal.i18n import gettext as _
from portal.registration.progress import REQUEST_STATE_LABELS
from portal.rendering import request_origin
from portal.subsystems import services
from portal.subsystems.models import RequestState

bp = Blueprint("subsystems", __name__, template_folder="templates", url_prefix="/subsystem-admin")


@bp.get("/requests")
@staff_required(StaffRole.SUBSYSTEM_ADMIN)
def requests():
    """Requests for my subsystems, pending first; ?state= filters."""
    state = request.args.get("state", RequestState.PENDING.value)
    chosen = RequestState(state) if state in RequestState._value2member_map_ else None
    return render_template(
        "subsystems/requests.html",
        items=services.requests_for_admin(current_user, chosen),
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
    """Approve, refuse or revoke one request."""
    try:
        item = services.decide_request(current_user, request_id, action, request_origin())
    except services.AlreadyDecided:
        flash(_("這件申請已由其他管理者處理，未做任何變更。"))
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
