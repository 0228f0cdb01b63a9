"""子系統管理: a portal administrator adds subsystems and edits their code, name,
description, order and state; parse the form, call subsystems.administration, render."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.admin.forms import SubsystemForm
from portal.admin.views import portal_admin_required
from portal.i18n import gettext as _
from portal.rendering import request_origin
from portal.subsystems import administration as subsystems

bp = Blueprint(
    "admin_subsystems", __name__, template_folder="templates", url_prefix="/admin/subsystems"
)


@bp.get("")
@portal_admin_required
def index():
    """Every subsystem in display order, inactive ones included."""
    return render_template("admin/subsystems.html", subsystems=subsystems.all_subsystems())


@bp.route("/new", methods=["GET", "POST"])
@portal_admin_required
def new():
    """Add a subsystem."""
    form = SubsystemForm()
    if form.validate_on_submit():
        try:
            subsystem = subsystems.add_subsystem(_details(form), request_origin(), current_user)
        except subsystems.SubsystemError as error:
            form[error.field].errors = [str(error)]
        else:
            flash(_("已新增子系統 %(name)s。", name=subsystem.name))
            return redirect(url_for("admin_subsystems.index"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/subsystem_form.html", form=form, subsystem=None), status


@bp.route("/<int:subsystem_id>", methods=["GET", "POST"])
@portal_admin_required
def edit(subsystem_id: int):
    """Change a subsystem."""
    subsystem = subsystems.subsystem_by_id(subsystem_id)
    form = SubsystemForm(obj=subsystem if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            changed = subsystems.change_subsystem(
                subsystem.id, _details(form), request_origin(), current_user
            )
        except subsystems.SubsystemError as error:
            form[error.field].errors = [str(error)]
        else:
            name = form.name.data
            flash(
                _("已更新子系統 %(name)s。", name=name)
                if changed
                else _("%(name)s 的資料沒有變更。", name=name)
            )
            return redirect(url_for("admin_subsystems.index"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/subsystem_form.html", form=form, subsystem=subsystem), status


def _details(form: SubsystemForm) -> subsystems.SubsystemDetails:
    return subsystems.SubsystemDetails(
        code=form.code.data,
        name=form.name.data,
        description=form.description.data or "",
        sort_order=int(form.sort_order.data),
        active=form.active.data,
    )
