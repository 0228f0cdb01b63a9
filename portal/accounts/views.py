"""我的帳號: profile, subsystem requests, change password, change contact details."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from portal.accounts.forms import ContactForm
from portal.accounts.services import update_contact
from portal.auth.forms import ChangePasswordForm
from portal.auth.passwords import (
    CurrentPasswordNeeded,
    LockedOutOfAccount,
    WrongCurrentPassword,
    change_password,
)
from portal.auth.session import current_session_token, sign_out
from portal.changes.labels import KIND_LABELS
from portal.changes.labels import STATE_LABELS as CHANGE_STATE_LABELS
from portal.changes.services import changes_of
from portal.i18n import gettext as _
from portal.identity.identifiers import mask_national_id
from portal.oidc.clients import openable_subsystem_ids
from portal.registration.progress import REQUEST_STATE_LABELS
from portal.rendering import request_origin
from portal.security.national_ids import decrypt_national_id
from portal.subsystems.services import not_yet_asked, requests_of

bp = Blueprint("accounts", __name__, template_folder="templates")


def _password_form(**kwargs) -> ChangePasswordForm:
    return ChangePasswordForm(
        username=current_user.username,
        national_id=decrypt_national_id(current_user.national_id_encrypted),
        **kwargs,
    )


def _render(password_form=None, contact_form=None, status: int = 200, **subsystem_form):
    # The form not submitted is not bound to the request: both forms have a field named
    # current_password, and the other form's would seem typed into and cleared.
    password_form = password_form or _password_form(formdata=None)
    contact_form = contact_form or ContactForm(formdata=None, obj=current_user)
    return render_template(
        "accounts/home.html",
        account=current_user,
        my_requests=requests_of(current_user),
        askable=not_yet_asked(current_user) if current_user.role else [],
        openable=openable_subsystem_ids(),
        ask_error=subsystem_form.get("ask_error"),
        ask_values=subsystem_form.get("ask_values") or {},
        masked_national_id=mask_national_id(
            decrypt_national_id(current_user.national_id_encrypted)
        ),
        request_state_labels=REQUEST_STATE_LABELS,
        changes=changes_of(current_user) if current_user.role else [],
        change_kind_labels=KIND_LABELS,
        change_state_labels=CHANGE_STATE_LABELS,
        password_form=password_form,
        contact_form=contact_form,
        assessment=password_form.page_assessment(),
    ), status


def render_home(ask_error: str, ask_values, status: int):
    """我的帳號 with the refused request for a subsystem shown next to its fields."""
    return _render(status=status, ask_error=ask_error, ask_values=ask_values)


@bp.get("/account")
@login_required
def home():
    """The signed-in person's own account."""
    return _render()


@bp.post("/account/password")
@login_required
def password():
    """Change password: the current one first; other sessions end; an e-mail tells."""
    form = _password_form()
    if form.validate_on_submit():
        try:
            change_password(
                current_user,
                form.current_password.data,
                form.password.data,
                current_session_token(),
                request_origin(),
            )
        except LockedOutOfAccount as error:
            return _signed_out(error)
        except (CurrentPasswordNeeded, WrongCurrentPassword) as error:
            form.current_password.errors = [str(error)]
        else:
            flash(_("密碼已變更，其他裝置上的登入已登出。"))
            return redirect(url_for("accounts.home"), 303)
    return _render(password_form=form, status=422)


@bp.post("/account/contact")
@login_required
def contact():
    """Change e-mail, phones and department; the old address is told of a new one."""
    form = ContactForm()
    if not form.validate_on_submit():
        return _render(contact_form=form, status=422)
    try:
        update_contact(
            current_user,
            email=form.email.data.strip(),
            phone=form.phone.data,  # the fields hold the stored forms of the numbers
            mobile=form.mobile.data or None,
            department=form.department.data or None,
            current_password=form.current_password.data or "",
            origin=request_origin(),
        )
    except LockedOutOfAccount as error:
        return _signed_out(error)
    except (CurrentPasswordNeeded, WrongCurrentPassword) as error:
        form.current_password.errors = [str(error)]
        return _render(contact_form=form, status=422)
    flash(_("聯絡資料已更新。"))
    return redirect(url_for("accounts.home"), 303)


def _signed_out(error: LockedOutOfAccount):
    """Too many wrong passwords here: locked as for sign-in, and this session ends."""
    sign_out(request_origin())
    flash(str(error))
    return redirect(url_for("auth.login"), 303)
