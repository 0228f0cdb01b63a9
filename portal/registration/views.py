"""帳號申請 and 申請進度查詢: parse the form, call a service, render."""

import re
import secrets

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_login import current_user
from wtforms import SelectChoice

from portal.accounts.models import Role
from portal.changes.progress import change_progress
from portal.changes.services import find_change, is_change_number
from portal.extensions import limiter
from portal.identity.identifiers import mask_national_id
from portal.identity.password_policy import PasswordPolicy, assess_password
from portal.localtime import local_now
from portal.registration.blank_form import blank_form_cache
from portal.registration.forms import (
    RegistrationForm,
    StatusLookupForm,
    applicant_password_assessment,
)
from portal.registration.progress import progress_of
from portal.registration.services import (
    ApplicantDetails,
    RegistrationError,
    accepts_general_users,
    application_by_number,
    closed_institution,
    find_application,
    find_institution,
    is_left_without_manager,
    submit_application,
)
from portal.rendering import page_or_fragment, request_origin, wants_fragment
from portal.security.national_ids import decrypt_national_id
from portal.subsystems.services import offered_subsystems
from portal.verification.views import allow_verification
from portal.workcalendar.services import current_calendar

bp = Blueprint("registration", __name__, template_folder="templates")
# What secrets.token_urlsafe(32) makes: 43 URL-safe characters.
SUBMISSION_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def _limit(setting: str):
    """The rate limit named by a setting, counted on form submissions only."""
    return limiter.limit(lambda: current_app.config[setting], methods=["POST"])


def _registration_form() -> RegistrationForm:
    form = RegistrationForm()
    form.subsystems.choices = [SelectChoice(s.code, s.name) for s in offered_subsystems()]
    # A missing or malformed token (an old page, a tampered field) starts a new submission;
    # it must never reach the column, whose length PostgreSQL enforces.
    if not SUBMISSION_TOKEN.fullmatch(form.submission_token.data or ""):
        form.submission_token.data = secrets.token_urlsafe(32)
    return form


def _register_context(form: RegistrationForm, **extra) -> dict:
    """Everything the registration page and its fragments show."""
    code = form.institution_code.data or ""
    institution = find_institution(code)
    return {
        "form": form,
        "institution": institution,
        "closed_institution": None if institution or not code.strip() else closed_institution(code),
        "role_blocked": _role_blocked(form, institution),
        # The checklist shows every rule, unmet, before anything is typed.
        "assessment": assess_password("", PasswordPolicy.from_config(current_app.config)),
        **extra,
    }


def _render_register(form: RegistrationForm, status: int = 200):
    return render_template("registration/register.html", **_register_context(form)), status


def _role_blocked(form: RegistrationForm, institution) -> bool:
    """Whether the chosen role is 一般使用者 at an institution that cannot take one yet."""
    return (
        form.role.data == Role.GENERAL.value
        and institution is not None
        and not accepts_general_users(institution)
    )


@bp.get("/register")
def register():
    """The empty application form (the institution may be pre-chosen by ?institution_code=)."""
    # The cached page is everyone's: a visitor with a message waiting gets a page of their own.
    if not request.args and current_user.is_anonymous and not session.get("_flashes"):
        cache = blank_form_cache(current_app._get_current_object())
        return cache.page(str(get_locale()), _render_blank_form)
    form = _registration_form()
    if request.args.get("institution_code"):
        form.institution_code.data = request.args["institution_code"][:20]
    return _render_register(form)


def _render_blank_form(csrf_mark: str, submission_mark: str) -> str:
    """The empty form with placeholders where the two per-request tokens go."""
    form = _registration_form()
    form.csrf_token.current_token = csrf_mark
    form.submission_token.data = submission_mark
    return render_template(
        "registration/register.html", csrf_token=lambda: csrf_mark, **_register_context(form)
    )


@bp.post("/register")
@_limit("RATELIMIT_REGISTER")
def register_submit():
    """Validate and store the application; errors go back next to their fields."""
    form = _registration_form()
    if not form.validate_on_submit():
        return _render_register(form, 422)
    try:
        application, _created = submit_application(_details(form), request_origin())
    except RegistrationError as error:
        if error.field in form:
            form[error.field].errors = [*form[error.field].errors, str(error)]
        else:
            flash(str(error))
        return _render_register(form, 409 if error.field == "username" else 422)
    session["submitted_application_no"] = application.application_no
    return redirect(url_for("registration.submitted"), 303)


def _details(form: RegistrationForm) -> ApplicantDetails:
    return ApplicantDetails(
        institution_code=form.institution_code.data.strip(),
        role=Role(form.role.data),
        username=form.username.data.strip(),
        password=form.password.data,
        national_id=form.national_id.data,
        name=form.name.data.strip(),
        department=form.department.data or None,
        phone=form.phone.data,  # the fields hold the stored forms of the numbers
        mobile=form.mobile.data or None,
        email=form.email.data.strip(),
        subsystem_codes=tuple(form.subsystems.data or ()),
        submission_token=form.submission_token.data,
    )


@bp.get("/register/submitted")
def submitted():
    """The confirmation page with the application number."""
    application_no = session.get("submitted_application_no")
    application = application_by_number(application_no) if application_no else None
    if application is None:
        return redirect(url_for("registration.register"))
    masked = mask_national_id(decrypt_national_id(application.account.national_id_encrypted))
    return render_template(
        "registration/submitted.html", application=application, masked_national_id=masked
    )


@bp.post("/register/password-strength")
@_limit("RATELIMIT_PASSWORD_METER")
def password_strength():
    """The live password meter; without JavaScript, the whole form with the meter filled."""
    if wants_fragment():
        # The hot path while someone types: only the meter, no form or look-ups.
        fields = request.form
        assessment = applicant_password_assessment(
            fields.get("password"),
            fields.get("username"),
            fields.get("national_id"),
            fields.get("name"),
        )
        return page_or_fragment(
            "registration/register.html",
            "registration/_password_meter.html",
            assessment=assessment,
        )
    form = _registration_form()
    return page_or_fragment(
        "registration/register.html",
        "registration/_password_meter.html",
        **_register_context(form, assessment=form.password_assessment()),
    )


@bp.post("/register/role-check")
@_limit("RATELIMIT_ROLE_CHECK")
def role_check():
    """The role choice, with the reason why 一般使用者 cannot be chosen, if it cannot."""
    context = _register_context(_registration_form())
    return page_or_fragment(
        "registration/register.html", "registration/_role_field.html", **context
    )


@bp.route("/applications/status", methods=["GET", "POST"])
@_limit("RATELIMIT_STATUS_LOOKUP")
def status():
    """申請進度查詢: application number and ID number give the progress, or one neutral message."""
    form = StatusLookupForm()
    found, status_code = {}, 200
    if form.validate_on_submit():
        found = _look_up(form.application_no.data, form.national_id.data)
        status_code = 200 if found else 404
    elif request.method == "POST":
        status_code = 422
    return page_or_fragment(
        "registration/status.html",
        "registration/_status.html",
        status=status_code,
        form=form,
        progress=found.get("progress"),
        application=found.get("application"),
        change_progress=found.get("change_progress"),
        not_found=status_code == 404,
    )


def _look_up(number: str, national_id: str) -> dict:
    """The application's or the manager change's progress, if the ID number is theirs."""
    if is_change_number(number):
        change = find_change(number, national_id)
        return {"change_progress": change_progress(change)} if change else {}
    application = find_application(number, national_id)
    if application is None:
        return {}
    # Proving the ID number lets this browser go on to verify the application.
    allow_verification(application.application_no)
    progress = progress_of(
        application,
        current_calendar(),
        local_now().date(),
        current_app.config["REVIEW_WORKING_DAYS"],
        left_without_manager=is_left_without_manager(application),
    )
    return {"progress": progress, "application": application}
