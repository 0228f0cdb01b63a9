"""E-mails about a manager change: to the people it names, its filer and the other managers."""

from flask import render_template
from sqlalchemy import select

from portal.accounts.models import Account, AccountState, Role
from portal.changes.labels import ACTION_LABELS, KIND_LABELS
from portal.changes.models import ChangeState, ManagerChange
from portal.extensions import db
from portal.i18n import gettext as _
from portal.mail import external_url, send_mail


def send_decided(change: ManagerChange) -> None:
    """Tell everyone concerned that the change was applied or refused."""
    approved = change.state is ChangeState.APPROVED
    subject = _("管理者異動已生效") if approved else _("管理者異動申請未通過")
    body = render_template(
        "changes/email/decided.txt",
        change=change,
        approved=approved,
        kind_label=KIND_LABELS[change.kind],
        action_labels=ACTION_LABELS,
        change_url=external_url("changes.detail", change_id=change.id),
    )
    for address in _recipients(change):
        send_mail(address, subject, body)


def _recipients(change: ManagerChange) -> list[str]:
    """The named accounts, the filer, and the institution's active managers, once each."""
    people = [item.account for item in change.items] + [change.filed_by]
    people += db.session.scalars(
        select(Account).where(
            Account.institution_id == change.institution_id,
            Account.role == Role.MANAGER,
            Account.state == AccountState.ACTIVE,
        )
    ).all()
    return list(dict.fromkeys(person.email for person in people))
