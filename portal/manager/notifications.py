"""E-mails from a unit manager's work: decisions on applicants, deactivations and reactivations."""

from flask import render_template, url_for
from flask_babel import gettext as _

from portal.accounts.models import Account
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


def send_deactivated(account: Account, reason: str) -> bool:
    """Tell the person their account was deactivated, and why."""
    body = render_template("manager/email/deactivated.txt", account=account, reason=reason)
    return send_mail(account.email, _("您的帳號已停用"), body)


def send_reactivated(account: Account) -> bool:
    """Tell the person their account is open again."""
    body = render_template(
        "manager/email/reactivated.txt",
        account=account,
        login_url=url_for("auth.login", _external=True),
    )
    return send_mail(account.email, _("您的帳號已重新啟用"), body)
