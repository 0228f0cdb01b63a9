"""E-mails to the help desk: the morning digest of paper filings due soon and overdue."""

from flask import render_template
from sqlalchemy import select

from portal.accounts.models import Account, AccountState, StaffRole
from portal.changes.labels import KIND_LABELS
from portal.extensions import db
from portal.i18n import gettext as _
from portal.mail import external_url, send_mail
from portal.review.deadlines import HelpDeskDigest
from portal.review.services import FORM_A


def help_desk_staff() -> list[Account]:
    """The active help-desk accounts, who receive the digest."""
    return list(
        db.session.scalars(
            select(Account)
            .where(Account.staff_role == StaffRole.HELP_DESK, Account.state == AccountState.ACTIVE)
            .order_by(Account.id)
        )
    )


def send_help_desk_digest(digest: HelpDeskDigest) -> int:
    """Queue the digest to every active help-desk account; how many e-mails were queued."""
    subject = _(
        "紙本審核：%(overdue)d 件已逾期，%(today)d 件今日到期，%(next)d 件下個工作日到期",
        overdue=digest.overdue.count,
        today=digest.due_today.count,
        next=digest.due_next.count,
    )
    staff = help_desk_staff()
    for person in staff:
        body = render_template(
            "review/email/digest.txt",
            person=person,
            digest=digest,
            kind_labels={FORM_A: _("A. 初次管理者帳號申請"), **KIND_LABELS},
            queue_url=external_url("review.queue"),
        )
        send_mail(person.email, subject, body)
    return len(staff)
