"""服務登入, 登出, second factor for staff, 忘記密碼 and reset links."""

import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from portal.accounts.models import Account, StaffRole
from portal.audit.services import record_event
from portal.auth import totp
from portal.auth.forms import ForgotPasswordForm, LoginForm, NewPasswordForm, TotpForm
from portal.auth.passwords import (
    InvalidResetLink,
    account_for_reset,
    request_reset,
)
from portal.auth.passwords import (
    reset_password as reset_password_service,
)
from portal.auth.services import (
    AccountLocked,
    SignInRefused,
    WrongCredentials,
    authenticate,
    check_second_factor,
)
from portal.auth.session import PENDING_SECOND_FACTOR_KEY, fresh_session, sign_in, sign_out
from portal.extensions import db, limiter
from portal.i18n import gettext as _
from portal.manager.services import has_pending_applications
from portal.redirects import safe_next
from portal.rendering import error_answer, page_or_fragment, request_origin
from portal.security.national_ids import decrypt_national_id

bp = Blueprint("auth", __name__, template_folder="templates")

# Minutes between a right password and the second factor before starting over.
PENDING_MINUTES = 5


def _failures_only(response) -> bool:
    return response.status_code != 303


def _limit(setting: str):
    return limiter.limit(
        lambda: current_app.config[setting], methods=["POST"], deduct_when=_failures_only
    )


@bp.route("/login", methods=["GET", "POST"])
@_limit("RATELIMIT_LOGIN")
def login():
    """Sign in with account and password; staff go on to the second factor."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next"))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 422 if form.is_submitted() else 200
    try:
        account = authenticate(form.username.data, form.password.data, request_origin())
    except SignInRefused as refusal:
        return render_template(
            "auth/login.html",
            form=form,
            refusal=str(refusal),
            lockout_help=isinstance(refusal, WrongCredentials),
        ), 401
    target = safe_next(form.next.data)
    if account.is_staff:
        db.session.commit()  # a rehashed password, if any
        fresh_session()
        session[PENDING_SECOND_FACTOR_KEY] = {
            "account_id": account.id,
            "since": time.time(),
            "next": target,
        }
        return redirect(url_for("auth.second_factor"), 303)
    sign_in(account, request_origin())
    return redirect(target or _landing_page(account), 303)


def _landing_page(account: Account) -> str:
    """Where a sign-in with no `next` goes: each role to its work (the help desk to its
    queue, subsystem administrators to their requests, a manager with applications waiting
    to them), everyone else to 我的帳號 and their subsystems."""
    if account.staff_role is StaffRole.HELP_DESK:
        return url_for("review.queue")
    if account.staff_role is StaffRole.SUBSYSTEM_ADMIN:
        return url_for("subsystems.requests")
    if account.is_manager and has_pending_applications(account):
        return url_for("manager.applications")
    return url_for("accounts.home")


@bp.post("/logout")
def logout():
    """Sign out: the server-side session ends, not just the cookie."""
    sign_out(request_origin())
    flash(_("您已登出。"))
    return redirect(url_for("content.home"), 303)


def _pending_account() -> Account | None:
    pending = session.get(PENDING_SECOND_FACTOR_KEY)
    if not pending or time.time() - pending["since"] > PENDING_MINUTES * 60:
        return None
    return db.session.get(Account, pending["account_id"])


@bp.route("/login/second-factor", methods=["GET", "POST"])
@_limit("RATELIMIT_LOGIN")
def second_factor():
    """The authenticator code; the first time, enrolment with a QR code."""
    account = _pending_account()
    if account is None:
        session.pop(PENDING_SECOND_FACTOR_KEY, None)
        return redirect(url_for("auth.login"), 303)
    form = TotpForm()
    enrolling = account.totp_confirmed_at is None
    if form.validate_on_submit():
        try:
            check_second_factor(account, form.code.data, request_origin())
        except AccountLocked as refusal:
            session.pop(PENDING_SECOND_FACTOR_KEY, None)
            flash(str(refusal))
            return redirect(url_for("auth.login"), 303)
        except SignInRefused as refusal:
            form.code.errors = [str(refusal)]
        else:
            target = session[PENDING_SECOND_FACTOR_KEY].get("next")
            if enrolling:
                _audit_account("totp.enrolled", account)
            sign_in(account, request_origin(), auth_methods="pwd otp")
            return redirect(target or _landing_page(account), 303)
    qr = secret = None
    if enrolling:
        # The same seed until it is confirmed: the QR code already scanned keeps working.
        secret = totp.enrolment_secret(account)
        db.session.commit()
        qr = totp.provisioning_qr(account, secret)
    status = 401 if form.is_submitted() else 200
    return render_template(
        "auth/second_factor.html", form=form, enrolling=enrolling, qr=qr, secret=secret
    ), status


def _audit_account(action: str, account: Account) -> None:
    record_event(
        action,
        subject_type="account",
        subject_id=account.id,
        origin=request_origin(),
        actor_account_id=account.id,
    )


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_PASSWORD_FORGOT"], methods=["POST"])
def forgot_password():
    """The same answer whether or not the account exists; the link goes by e-mail."""
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot.html", form=form), 422 if form.is_submitted() else 200
    request_reset(form.username.data, form.email.data, request_origin())
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    return render_template("auth/forgot_sent.html", minutes=minutes)


def _reset_form(account: Account) -> NewPasswordForm:
    return NewPasswordForm(
        username=account.username,
        national_id=decrypt_national_id(account.national_id_encrypted),
    )


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Set a new password from the e-mailed link."""
    try:
        account = account_for_reset(token)
    except InvalidResetLink as error:
        return render_template("auth/reset_invalid.html", message=str(error.message)), 410
    form = _reset_form(account)
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template(
            "auth/reset.html", form=form, token=token, assessment=form.page_assessment()
        ), status
    try:
        reset_password_service(token, form.password.data, request_origin())
    except InvalidResetLink as error:
        return render_template("auth/reset_invalid.html", message=str(error.message)), 410
    if current_user.is_authenticated:
        sign_out(request_origin())
    flash(_("密碼已更新，請以新密碼登入。"))
    return redirect(url_for("auth.login"), 303)


@bp.post("/password/strength")
@limiter.limit(lambda: current_app.config["RATELIMIT_PASSWORD_METER"])
def password_strength():
    """The meter for a known account: the signed-in one, or the one a reset link is for."""
    token = request.args.get("token")
    if token:
        try:
            account = account_for_reset(token)
        except InvalidResetLink as error:
            return error_answer("auth/reset_invalid.html", 410, str(error.message))
    elif current_user.is_authenticated:
        account = current_user
    else:
        abort(401)
    form = _reset_form(account)
    return page_or_fragment(
        "auth/password_strength.html",
        "registration/_password_meter.html",
        form=form,
        assessment=form.password_assessment(),
        meter_url=request.full_path.rstrip("?"),
        meter_include="#password",
    )
