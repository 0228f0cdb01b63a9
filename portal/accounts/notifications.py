"""E-mails about changes to an account."""

from flask import render_template

from portal.accounts.models import Account
from portal.i18n import gettext as _
from portal.mail import send_mail


def send_email_changed(account: Account, old_email: str) -> None:
    """Tell the old address that the account now uses a new one."""
    body = render_template("accounts/email/email_changed.txt", account=account)
    send_mail(old_email, _("您的電子郵件已變更"), body)
