"""機構管理: a portal administrator searches, adds, edits, deactivates and imports
institutions; parse the form, call institutions.administration, render."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from portal.admin.forms import InstitutionForm, InstitutionSearchForm, NewInstitutionForm
from portal.admin.views import portal_admin_required
from portal.i18n import gettext as _
from portal.institutions import administration as institutions
from portal.institutions.records import KINDS
from portal.rendering import allows_large_body, page_argument, page_or_fragment, request_origin

bp = Blueprint(
    "admin_institutions", __name__, template_folder="templates", url_prefix="/admin/institutions"
)
# A million pages of fifty: more than the country has institutions.
LAST_PAGE = 1_000_000
# Bad rows listed on the page after an import; a file that is wrong throughout would list
# every line, which helps nobody.
SHOWN_ROW_ERRORS = 1000


@bp.get("")
@portal_admin_required
def index():
    """Search by code or name, active or not; the list as a fragment for the live search."""
    form = InstitutionSearchForm(request.args)
    form.validate()
    found = institutions.find_institutions(
        form.q.data or "", form.state.data or "", page_argument(LAST_PAGE)
    )
    args = {key: value for key, value in request.args.items() if key in ("q", "state") and value}
    return page_or_fragment(
        "admin/institutions.html",
        "admin/_institution_list.html",
        form=form,
        found=found,
        args=args,
    )


@bp.route("/new", methods=["GET", "POST"])
@portal_admin_required
def new():
    """Add one institution (a newly contracted clinic, say); it can be applied for at once."""
    form = NewInstitutionForm()
    if form.validate_on_submit():
        try:
            institution = institutions.add_institution(
                _details(form, form.code.data), request_origin(), current_user
            )
        except institutions.InstitutionCodeTaken as error:
            form.code.errors = [str(error)]
        else:
            flash(_("已新增 %(name)s（%(code)s）。", name=institution.name, code=institution.code))
            return redirect(url_for("admin_institutions.edit", institution_id=institution.id), 303)
    status = 422 if form.is_submitted() else 200
    return render_template("admin/institution_new.html", form=form), status


@bp.route("/<int:institution_id>", methods=["GET", "POST"])
@portal_admin_required
def edit(institution_id: int):
    """Correct an institution's name, kind or county."""
    institution = institutions.institution_by_id(institution_id)
    form = InstitutionForm(obj=institution if request.method == "GET" else None)
    if form.validate_on_submit():
        details = _details(form, institution.code)
        if institutions.change_institution(institution.id, details, request_origin(), current_user):
            flash(_("已更新 %(name)s 的資料。", name=institution.name))
        else:
            flash(_("資料沒有變更。"))
        return redirect(url_for("admin_institutions.edit", institution_id=institution.id), 303)
    status = 422 if form.is_submitted() else 200
    return render_template(
        "admin/institution_edit.html",
        form=form,
        institution=institution,
        active_accounts=institutions.active_account_count(institution),
    ), status


@bp.post("/<int:institution_id>/active")
@portal_admin_required
def set_active(institution_id: int):
    """Deactivate (no new applications; accounts stay) or reactivate an institution."""
    active = request.form.get("active") == "1"
    institution = institutions.set_institution_active(
        institution_id, active, request_origin(), current_user
    )
    if active:
        flash(_("已重新啟用 %(name)s，可以再申請帳號。", name=institution.name))
    else:
        flash(_("已停用 %(name)s，不再接受新的帳號申請。", name=institution.name))
    return redirect(url_for("admin_institutions.edit", institution_id=institution.id), 303)


@bp.route("/import", methods=["GET", "POST"])
@portal_admin_required
@allows_large_body("INSTITUTION_CSV_MAX_BYTES")
def import_csv():
    """Upload the institution list as CSV: good rows are added or updated, bad ones listed."""
    if request.method == "GET":
        return _import_page()
    upload = request.files.get("csv_file")
    data = upload.read(current_app.config["INSTITUTION_CSV_MAX_BYTES"] + 1) if upload else b""
    file_error = _file_problem(upload, data)
    if file_error:
        return _import_page(file_error=file_error, status=422)
    report = institutions.import_institutions_csv(
        data, upload.filename, request_origin(), current_user
    )
    summary = report.summary
    read_nothing = report.errors and not (summary.created + summary.updated + summary.unchanged)
    return _import_page(
        report=report, file_name=upload.filename, status=422 if read_nothing else 200
    )


def _import_page(report=None, file_error=None, file_name="", status=200):
    return render_template(
        "admin/institution_import.html",
        report=report,
        file_error=file_error,
        file_name=file_name,
        kinds=KINDS,
        shown_errors=SHOWN_ROW_ERRORS,
    ), status


def _file_problem(upload, data: bytes) -> str | None:
    """Why the uploaded file cannot be read as a list at all, if it cannot."""
    if upload is None or not upload.filename:
        return _("請選擇要匯入的 CSV 檔。")
    limit = current_app.config["INSTITUTION_CSV_MAX_BYTES"]
    if len(data) > limit:
        return _("檔案超過 %(mb)s MB，請分成幾個檔案匯入。", mb=limit // (1024 * 1024))
    if not data:
        return _("檔案是空的，請確認選擇的檔案。")
    return None


def _details(form: InstitutionForm, code: str) -> institutions.InstitutionDetails:
    return institutions.InstitutionDetails(
        code=code, name=form.name.data, kind=form.kind.data, county=form.county.data
    )
