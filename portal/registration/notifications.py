"""E-mails about an application."""

from flask import render_template

from portal.i18n import gettext as _
from portal.mail import external_url, send_mail
from portal.registration.models import Application


def send_application_received(application: Application) -> None:
    """Tell the applicant their number and what happens next."""
    body = render_template(
        "registration/email/application_received.txt",
        application=application,
        status_url=external_url("registration.status"),
    )
    subject = _("帳號申請已收到（申請編號 %(no)s）", no=application.application_no)
    send_mail(application.account.email, subject, body)


def send_left_without_manager(applications: list[Application]) -> None:
    """After their institution's manager application was refused, tell each general user
    still waiting for a manager there why, and what they can do."""
    status_url = external_url("registration.status")
    for application in applications:
        body = render_template(
            "registration/email/left_without_manager.txt",
            application=application,
            status_url=status_url,
        )
        subject = _(
            "貴機構的單位業務管理者申請未獲核准（您的申請編號 %(no)s）",
            no=application.application_no,
        )
        send_mail(application.account.email, subject, body)
