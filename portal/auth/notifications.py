"""E-mails about sign-in and passwords."""

from flask import render_template
from flask_babel import gettext as _

from portal.accounts.models import Account
from portal.mail import external_url, send_mail


def send_reset_link(account: Account, token: str, minutes: int) -> None:
    """The one-time link to set a new password."""
    body = render_template(
        "auth/email/reset_link.txt",
        account=account,
        link=external_url("auth.reset_password", token=token),
        minutes=minutes,
    )
    send_mail(account.email, _("重設密碼連結"), body)


def send_password_changed(account: Account) -> None:
    """Tell the person their password changed, in case it was not them."""
    body = render_template("auth/email/password_changed.txt", account=account)
    send_mail(account.email, _("您的密碼已變更"), body)
