"""E-mail as the rest of the portal sees it: queue a message, build a link for it.

Sending is the worker's (portal/outbox/): a message is a row committed with the decision it
reports, so no request waits on an SMTP server and nothing is sent for a rolled-back one.
"""

from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import String, insert, literal, select

from portal.accounts.models import Account
from portal.extensions import db
from portal.observability.request_ids import current_request_id
from portal.outbox.models import OutboxMessage


def send_mail(to: str, subject: str, body: str) -> None:
    """Queue a plain-text message in the current transaction; it goes out once that commits.

    Callers add it before their commit, beside the decision it reports: rolled back with
    it, it was never sent; committed with it, the worker delivers it, retrying if need be.
    """
    db.session.add(
        OutboxMessage(recipient=to, subject=subject, body=body, request_id=current_request_id())
    )


def send_mail_to_account(account_id: int, subject: str, body: str) -> None:
    """Queue a message to the account's address as stored, like `send_mail`; for an id no
    account has, nothing is queued, by the very same statement (INSERT … SELECT from the
    account's row), for callers whose timing must not show whether the account exists."""
    db.session.execute(
        insert(OutboxMessage).from_select(
            ["recipient", "subject", "body", "request_id"],
            select(
                Account.email,
                literal(subject),
                literal(body),
                literal(current_request_id(), String),
            ).where(Account.id == account_id),
        )
    )


def external_url(endpoint: str, **values) -> str:
    """A link for an e-mail, on EXTERNAL_BASE_URL, never on whatever host a request named.

    A forged Host header would otherwise put the forger's site in a reset link. The
    setting is required in production and has defaults elsewhere (see create_app).
    """
    parts = urlsplit(current_app.config["EXTERNAL_BASE_URL"])
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme
    )
    return adapter.build(endpoint, values, force_external=True)
