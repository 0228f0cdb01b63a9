"""工作人員管理, 稽核紀錄 and 電子郵件寄送, for portal administrators only."""

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from wtforms import SelectChoice

from portal.accounts.models import StaffRole
from portal.admin import services
from portal.admin.audit_export import csv_chunks, export_filename
from portal.admin.forms import AUDIT_SEARCH_FIELDS, AuditSearchForm, NewStaffForm, StaffRoleForm
from portal.audit import labels as audit_labels
from portal.audit.services import (
    LAST_AUDIT_PAGE,
    AuditQuery,
    audit_entry,
    export_events,
    search_events,
)
from portal.authz import staff_required
from portal.i18n import gettext as _
from portal.i18n import ngettext
from portal.localtime import local_now
from portal.outbox import services as outbox
from portal.outbox.models import OutboxState
from portal.rendering import page_argument, request_origin
from portal.subsystems.services import offered_subsystems

bp = Blueprint("admin", __name__, template_folder="templates", url_prefix="/admin")
portal_admin_required = staff_required(StaffRole.PORTAL_ADMIN)


def _with_subsystems(form: StaffRoleForm) -> StaffRoleForm:
    form.subsystems.choices = [SelectChoice(s.code, s.name) for s in offered_subsystems()]
    return form


@bp.get("/staff")
@portal_admin_required
def staff():
    """Every staff account."""
    return render_template("admin/staff.html", accounts=services.staff_accounts())


@bp.route("/staff/new", methods=["GET", "POST"])
@portal_admin_required
def new_staff():
    """Create a staff account and e-mail the person a link to set their password."""
    form = _with_subsystems(NewStaffForm())
    if form.validate_on_submit():
        details = services.StaffDetails(
            username=form.username.data,
            name=form.name.data,
            email=form.email.data,
            national_id=form.national_id.data,
            role=StaffRole(form.role.data),
            subsystem_codes=tuple(form.subsystems.data or ()),
        )
        try:
            account = services.create_staff(details, None, request_origin(), current_user)
        except services.StaffError as error:
            form[error.field].errors = [str(error.message)]
        else:
            flash(_("已建立 %(name)s 的帳號，並寄出設定密碼的連結。", name=account.name))
            return redirect(url_for("admin.staff"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/staff_new.html", form=form), status


@bp.route("/staff/<int:account_id>", methods=["GET", "POST"])
@portal_admin_required
def edit_staff(account_id: int):
    """Change a staff member's role, subsystems, or deactivate them."""
    account = services.staff_account(account_id)
    form = _with_subsystems(StaffRoleForm())
    if request.method == "GET":
        form.role.data = account.staff_role.value
        form.subsystems.data = [s.code for s in account.administered_subsystems]
        form.active.data = account.is_active
    elif form.validate_on_submit():
        if account.id == current_user.id and not form.active.data:
            form.active.errors = [_("不能停用自己的帳號。")]
        else:
            try:
                services.change_staff(
                    account,
                    StaffRole(form.role.data),
                    tuple(form.subsystems.data or ()),
                    form.active.data,
                    request_origin(),
                    current_user,
                )
            except services.StaffError as error:
                form[error.field].errors = [str(error.message)]
            else:
                flash(_("已更新 %(name)s 的角色。", name=account.name))
                return redirect(url_for("admin.staff"), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/staff_edit.html", form=form, account=account), status


@bp.get("/audit")
@portal_admin_required
def audit():
    """Search the audit trail by account, institution, kind and date."""
    form = AuditSearchForm(request.args)
    page = page_argument(LAST_AUDIT_PAGE)
    entries, has_next = [], False
    if form.validate():
        entries, has_next = search_events(_audit_query(form), page)
    return _render_audit(form, entries=entries, page=page, has_next=has_next)


@bp.get("/audit/export.csv")
@portal_admin_required
def audit_export():
    """The same search as a CSV file, every matching event; errors go back to the search."""
    form = AuditSearchForm(request.args)
    if not form.validate():
        return _render_audit(form, status=422)
    entries = export_events(_audit_query(form), current_user.id, request_origin())
    name = export_filename(form.date_from.data, form.date_to.data, local_now().date())
    return Response(
        stream_with_context(csv_chunks(entries)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/audit/<int:event_id>")
@portal_admin_required
def audit_event(event_id: int):
    """One event: who, what, when, from where, about what, and its detail."""
    return render_template(
        "admin/audit_event.html",
        entry=audit_entry(event_id),
        labels=audit_labels,
        search_args=_search_args(),
    )


def _audit_query(form: AuditSearchForm) -> AuditQuery:
    return AuditQuery(
        username=form.username.data or "",
        institution_code=form.institution_code.data or "",
        action=form.action.data or "",
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    )


def _search_args() -> dict:
    """The search as given, to keep it in links (pages, an event, the export, back).

    Only the search form's own fields: anything else would reach url_for as one of its
    keywords (?_method=PUT makes it raise).
    """
    return {key: value for key, value in request.args.items() if key in AUDIT_SEARCH_FIELDS}


def _render_audit(form: AuditSearchForm, status: int = 200, **results):
    context = {"entries": [], "page": 1, "has_next": False, "searched": not form.errors, **results}
    return render_template(
        "admin/audit.html", form=form, args=_search_args(), labels=audit_labels, **context
    ), status


@bp.get("/outbox")
@portal_admin_required
def outbox_page():
    """The mail still waiting, and the messages the worker gave up on, to send again."""
    return render_template("admin/outbox.html", summary=outbox.outbox_summary(), states=OutboxState)


@bp.post("/outbox/<int:message_id>/retry")
@portal_admin_required
def retry_message(message_id: int):
    """Send one dead message again (audited)."""
    return _retried(outbox.retry_dead(current_user, request_origin(), message_id))


@bp.post("/outbox/retry")
@portal_admin_required
def retry_all_messages():
    """Send every dead message again (audited), e.g. once the mail server is fixed."""
    return _retried(outbox.retry_dead(current_user, request_origin()))


def _retried(count: int):
    if count:
        flash(
            ngettext(
                "已重新排入 %(num)d 封電子郵件，稍後寄出。",
                "已重新排入 %(num)d 封電子郵件，稍後寄出。",
                count,
            )
        )
    else:
        flash(_("沒有需要重新寄送的電子郵件（可能已由其他管理者重新排入）。"))
    return redirect(url_for("admin.outbox_page"), 303)
