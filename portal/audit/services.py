"""Writing audit events, and searching them."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import selectinload

from portal.accounts.models import Account, username_key
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.institutions.models import Institution
from portal.localtime import TAIPEI


@dataclass(frozen=True)
class Origin:
    """Where a request came from, as plain values a service can record."""

    remote_addr: str | None = None
    user_agent: str | None = None


def record_event(
    action: str,
    *,
    subject_type: str,
    subject_id: object,
    origin: Origin,
    actor_account_id: int | None = None,
    institution_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the session; it commits with the decision it records."""
    event = AuditEvent(
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        actor_account_id=actor_account_id,
        institution_id=institution_id,
        remote_addr=origin.remote_addr,
        user_agent=(origin.user_agent or "")[:200] or None,
        detail=detail or {},
    )
    db.session.add(event)
    return event


@dataclass(frozen=True)
class AuditQuery:
    """What a portal administrator searches the trail by; empty fields match everything."""

    username: str = ""
    institution_code: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None


PAGE_SIZE = 50
# Five million events; OFFSET past that is slow and past bigint refused.
LAST_AUDIT_PAGE = 100_000


def search_events(query: AuditQuery, page: int = 1) -> tuple[list[AuditEvent], bool]:
    """One page of matching events, newest first, and whether there is a next page."""
    statement = select(AuditEvent)
    if query.username:
        statement = statement.where(_about_username(query.username.strip()))
    if query.institution_code:
        institution = select(Institution.id).where(
            Institution.code == query.institution_code.strip()
        )
        statement = statement.where(AuditEvent.institution_id.in_(institution))
    if query.action:
        statement = statement.where(
            AuditEvent.action.startswith(query.action.strip(), autoescape=True)
        )
    if query.date_from:
        statement = statement.where(AuditEvent.occurred_at >= _taipei_midnight(query.date_from))
    if query.date_to:
        statement = statement.where(
            AuditEvent.occurred_at < _taipei_midnight(query.date_to + timedelta(days=1))
        )
    statement = statement.order_by(AuditEvent.id.desc()).offset((page - 1) * PAGE_SIZE)
    statement = statement.options(selectinload(AuditEvent.actor))  # names for the table
    rows = list(db.session.scalars(statement.limit(PAGE_SIZE + 1)))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE


def _about_username(username: str) -> ColumnElement[bool]:
    """Events the account did or that were done to it; for a name no account has, the
    sign-in attempts made with it (kept in the event's detail, there being no account)."""
    account_id = db.session.scalar(
        select(Account.id).where(Account.username_key == username_key(username))
    )
    if account_id is None:
        return (AuditEvent.action == "login.failed") & (
            func.lower(AuditEvent.detail["username"].as_string()) == username.lower()
        )
    return (AuditEvent.actor_account_id == account_id) | (
        (AuditEvent.subject_type == "account") & (AuditEvent.subject_id == str(account_id))
    )


def _taipei_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=TAIPEI)
