"""E-mails about sign-in and passwords."""

from flask import render_template

from portal.accounts.models import Account
from portal.i18n import gettext as _
from portal.mail import external_url, send_mail, send_mail_to_account


def send_reset_link(account: Account, token: str, minutes: int) -> None:
    """The one-time link to set a new password, to the account's stored address (for a
    stand-in no row matches, nothing is queued: see request_reset)."""
    body = render_template(
        "auth/email/reset_link.txt",
        account=account,
        link=external_url("auth.reset_password", token=token),
        minutes=minutes,
    )
    send_mail_to_account(account.id, _("重設密碼連結"), body)


def send_password_changed(account: Account) -> None:
    """Tell the person their password changed, in case it was not them."""
    body = render_template("auth/email/password_changed.txt", account=account)
    send_mail(account.email, _("您的密碼已變更"), body)
