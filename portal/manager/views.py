"""帳號審核 and 本機構使用者 for unit managers."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.authz import manager_required
from portal.i18n import gettext as _
from portal.manager import services
from portal.manager.forms import DeactivateForm
from portal.rendering import page_or_fragment, request_origin, see_other

bp = Blueprint("manager", __name__, template_folder="templates", url_prefix="/manager")

REASON_MAX = 200


@bp.get("/applications")
@manager_required
def applications():
    """General-user applications waiting for this institution's decision."""
    return render_template(
        "manager/applications.html", applications=services.pending_applications(current_user)
    )


@bp.get("/applications/<int:application_id>")
@manager_required
def application(application_id: int):
    """One application of this institution."""
    item = services.application_in_scope(current_user, application_id)
    return render_template("manager/application.html", application=item)


@bp.post("/applications/<int:application_id>/decision")
@manager_required
def decide(application_id: int):
    """Approve or refuse; a refusal needs a reason."""
    approve = request.form.get("decision") == "approve"
    reason = request.form.get("reason", "").strip()[:REASON_MAX]
    if not approve and not reason:
        item = services.application_in_scope(current_user, application_id)
        return render_template(
            "manager/application.html",
            application=item,
            reason_error=_("不核准時請填寫原因，申請人會收到這個原因。"),
        ), 422
    try:
        item = services.decide_application(
            current_user, application_id, approve, reason, request_origin()
        )
    except services.AlreadyDecided:
        flash(_("這件申請已由其他管理者處理，未做任何變更。"))
    except services.ManagerNoLongerActive:
        flash(_("您的管理者帳號已停用，無法審核。"))
    else:
        flash(
            _("已核准 %(name)s 的申請。", name=item.account.name)
            if approve
            else _("已不核准 %(name)s 的申請。", name=item.account.name)
        )
    return redirect(url_for("manager.applications"), 303)


@bp.get("/users")
@manager_required
def users():
    """This institution's general users."""
    return render_template("manager/users.html", users=services.institution_users(current_user))


@bp.get("/users/<int:account_id>/deactivate")
@manager_required
def confirm_deactivation(account_id: int):
    """The confirmation, with the reason to give: in the row (HTMX) or as a page."""
    account = services.general_user_in_scope(current_user, account_id)
    if not account.is_active:
        flash(_("這個帳號已經停用。"))
        return see_other(url_for("manager.users"))
    return _deactivation_form(account, DeactivateForm(formdata=None))


@bp.post("/users/<int:account_id>/deactivate")
@manager_required
def deactivate(account_id: int):
    """停用 a general user for a reason; their sessions end at once, they are told why."""
    form = DeactivateForm()
    if not form.validate_on_submit():
        account = services.general_user_in_scope(current_user, account_id)
        return _deactivation_form(account, form, 422)
    try:
        account = services.deactivate_user(
            current_user, account_id, form.reason.data, request_origin()
        )
    except services.AlreadyDecided:
        flash(_("這個帳號已經停用。"))
    else:
        flash(_("已停用 %(name)s 的帳號。", name=account.name))
    return redirect(url_for("manager.users"), 303)


@bp.post("/users/<int:account_id>/reactivate")
@manager_required
def reactivate(account_id: int):
    """重新啟用 a deactivated general user; they are told they may sign in again."""
    try:
        account = services.reactivate_user(current_user, account_id, request_origin())
    except services.NotDeactivated as refusal:
        flash(str(refusal))
    else:
        flash(_("已重新啟用 %(name)s 的帳號。", name=account.name))
    return redirect(url_for("manager.users"), 303)


def _deactivation_form(account, form: DeactivateForm, status: int = 200):
    return page_or_fragment(
        "manager/deactivate.html",
        "manager/_deactivate_form.html",
        status=status,
        user=account,
        form=form,
    )
