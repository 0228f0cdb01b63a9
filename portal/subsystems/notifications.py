"""E-mails to a person about their access to a subsystem: every decision on it."""

from flask import render_template

from portal.i18n import gettext as _
from portal.mail import external_url, send_mail
from portal.subsystems.models import RequestState, SubsystemRequest


def send_decision(item: SubsystemRequest) -> None:
    """Tell the person what was decided on their request, with the reason of a refusal."""
    name = item.subsystem.name
    subjects = {
        RequestState.APPROVED: _("子系統權限已核准：%(name)s", name=name),
        RequestState.REFUSED: _("子系統權限未獲核准：%(name)s", name=name),
        RequestState.REVOKED: _("子系統權限已撤銷：%(name)s", name=name),
    }
    body = render_template(
        "subsystems/email/decision.txt",
        item=item,
        states=RequestState,
        subsystems_url=external_url("accounts.home", _anchor="my-subsystems"),
    )
    send_mail(item.account.email, subjects[item.state], body)
