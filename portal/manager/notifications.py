"""E-mails to applicants about a manager's decision."""

from flask import render_template, url_for
from flask_babel import gettext as _

from portal.mail import send_mail
from portal.registration.models import Application, ApplicationState


def send_decision(application: Application, reason: str) -> bool:
    """Tell the applicant whether their account was approved."""
    approved = application.state is ApplicationState.APPROVED
    body = render_template(
        "manager/email/decision.txt",
        application=application,
        approved=approved,
        reason=reason,
        login_url=url_for("auth.login", _external=True),
    )
    subject = _("帳號申請已核准") if approved else _("帳號申請未獲核准")
    return send_mail(application.account.email, subject, body)
