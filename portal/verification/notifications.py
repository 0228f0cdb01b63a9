"""E-mails about a manager application's verification."""

from flask import render_template, url_for
from flask_babel import gettext as _

from portal.mail import send_mail
from portal.registration.models import Application


def send_verified(application: Application) -> bool:
    """The account is open: verified with the card or approved on paper."""
    body = render_template(
        "verification/email/verified.txt",
        application=application,
        login_url=url_for("auth.login", _external=True),
    )
    return send_mail(application.account.email, _("管理者帳號已啟用"), body)


def send_paper_refused(application: Application) -> bool:
    """The paper application was refused; the applicant may upload again."""
    body = render_template(
        "verification/email/paper_refused.txt",
        application=application,
        paper_url=url_for("verification.paper", _external=True),
    )
    return send_mail(application.account.email, _("紙本審核未通過"), body)
