"""E-mails about a unit manager's work: new applications to review (at once or daily),
decisions on applicants, deactivations and reactivations."""

from flask import current_app, render_template

from portal.accounts.models import Account
from portal.accounts.services import active_managers
from portal.i18n import gettext as _
from portal.i18n import ngettext
from portal.mail import external_url, send_mail
from portal.registration.models import Application, ApplicationState


def send_decision(application: Application, reason: str) -> None:
    """Tell the applicant whether their account was approved."""
    approved = application.state is ApplicationState.APPROVED
    body = render_template(
        "manager/email/decision.txt",
        application=application,
        approved=approved,
        reason=reason,
        login_url=external_url("auth.login"),
    )
    subject = _("帳號申請已核准") if approved else _("帳號申請未獲核准")
    send_mail(application.account.email, subject, body)


def send_deactivated(account: Account, reason: str) -> None:
    """Tell the person their account was deactivated, and why."""
    body = render_template("manager/email/deactivated.txt", account=account, reason=reason)
    send_mail(account.email, _("您的帳號已停用"), body)


def send_reactivated(account: Account) -> None:
    """Tell the person their account is open again."""
    body = render_template(
        "manager/email/reactivated.txt",
        account=account,
        login_url=external_url("auth.login"),
    )
    send_mail(account.email, _("您的帳號已重新啟用"), body)


def announce_application(application: Application) -> None:
    """Tell the institution's active managers of a general user's new application at once,
    unless they are told daily."""
    if application.is_manager_application or current_app.config["MANAGER_NOTICE"] != "immediate":
        return
    review_url = external_url("manager.applications")
    subject = _(
        "帳號審核：%(name)s 申請成為一般使用者（申請編號 %(no)s）",
        name=application.account.name,
        no=application.application_no,
    )
    for manager in active_managers(application.institution_id):
        body = render_template(
            "manager/email/new_application.txt",
            manager=manager,
            application=application,
            review_url=review_url,
        )
        send_mail(manager.email, subject, body)


def send_digest(managers: list[Account], applications: list[Application]) -> int:
    """Send an institution's active managers the list of general-user applications still
    waiting for them (MANAGER_NOTICE "daily"); how many e-mails were queued."""
    review_url = external_url("manager.applications")
    subject = ngettext(
        "帳號審核：%(num)d 件一般使用者申請等待您審核",
        "帳號審核：%(num)d 件一般使用者申請等待您審核",
        len(applications),
    )
    for manager in managers:
        body = render_template(
            "manager/email/digest.txt",
            manager=manager,
            applications=applications,
            review_url=review_url,
        )
        send_mail(manager.email, subject, body)
    return len(managers)
