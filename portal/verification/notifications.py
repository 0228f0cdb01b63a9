"""E-mails about a manager application's verification."""

from flask import render_template

from portal.i18n import gettext as _
from portal.mail import external_url, send_mail
from portal.registration.models import Application


def send_verified(application: Application) -> None:
    """The account is open: verified with the card or approved on paper."""
    body = render_template(
        "verification/email/verified.txt",
        application=application,
        login_url=external_url("auth.login"),
    )
    send_mail(application.account.email, _("管理者帳號已啟用"), body)


def send_paper_refused(application: Application) -> None:
    """The paper application was refused; the applicant may upload again."""
    body = render_template(
        "verification/email/paper_refused.txt",
        application=application,
        paper_url=external_url("verification.paper"),
    )
    send_mail(application.account.email, _("紙本審核未通過"), body)
