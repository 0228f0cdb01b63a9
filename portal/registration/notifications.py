"""E-mails about an application."""

from flask import render_template, url_for
from flask_babel import gettext as _

from portal.mail import send_mail
from portal.registration.models import Application


def send_application_received(application: Application) -> bool:
    """Tell the applicant their number and what happens next."""
    body = render_template(
        "registration/email/application_received.txt",
        application=application,
        status_url=url_for("registration.status", _external=True),
    )
    subject = _("帳號申請已收到（申請編號 %(no)s）", no=application.application_no)
    return send_mail(application.account.email, subject, body)
