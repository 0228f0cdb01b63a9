"""Writing audit events, and searching them."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import selectinload

from portal.accounts.models import Account, username_key
from portal.audit.models import AuditEvent
from portal.errors import NotInScope
from portal.extensions import db
from portal.institutions.models import Institution
from portal.localtime import TAIPEI
from portal.observability.request_ids import current_request_id


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
        request_id=current_request_id(),
    )
    db.session.add(event)
    return event


@dataclass(frozen=True)
class AuditQuery:
    """What a portal administrator searches the trail by; empty fields match everything.

    `action` is one action's code (login.failed) or a kind of actions (login).
    """

    username: str = ""
    institution_code: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    def as_detail(self) -> dict[str, str]:
        """The filters given, for the audit event that records an export."""
        given = {
            "account": self.username.strip(),
            "institution_code": self.institution_code.strip(),
            "action": self.action.strip(),
            "date_from": self.date_from.isoformat() if self.date_from else "",
            "date_to": self.date_to.isoformat() if self.date_to else "",
        }
        return {key: value for key, value in given.items() if value}


@dataclass(frozen=True)
class AuditEntry:
    """An event, with the account it is about when its subject is an account."""

    event: AuditEvent
    subject_account: Account | None = None


PAGE_SIZE = 50
# Five million events; OFFSET past that is slow and past bigint refused.
LAST_AUDIT_PAGE = 100_000
EXPORT_BATCH = 500


def search_events(query: AuditQuery, page: int = 1) -> tuple[list[AuditEntry], bool]:
    """One page of matching events, newest first, and whether there is a next page."""
    statement = _matching(query).order_by(AuditEvent.id.desc()).offset((page - 1) * PAGE_SIZE)
    rows = list(db.session.scalars(statement.limit(PAGE_SIZE + 1)))
    return _with_subjects(rows[:PAGE_SIZE]), len(rows) > PAGE_SIZE


def export_events(query: AuditQuery, exporter_id: int, origin: Origin) -> Iterator[AuditEntry]:
    """Record who exported what, then every matching event, newest first.

    The events are read a batch at a time as the caller goes through them, so an export
    of a year of sign-ins never sits in memory at once.
    """
    record_event(
        "audit.exported",
        subject_type="audit_trail",
        subject_id="-",
        origin=origin,
        actor_account_id=exporter_id,
        detail={"filters": query.as_detail()},
    )
    db.session.commit()
    return _in_batches(query)


def audit_entry(event_id: int) -> AuditEntry:
    """One event, with what it is about; NotInScope if there is none."""
    statement = select(AuditEvent).where(AuditEvent.id == event_id)
    event = db.session.scalar(statement.options(*_shown_with()))
    if event is None:
        raise NotInScope()
    return _with_subjects([event])[0]


def _in_batches(query: AuditQuery) -> Iterator[AuditEntry]:
    # Keyset paging on the id: each batch is one short query, and events recorded while
    # the export runs do not shift the later batches.
    before: int | None = None
    while True:
        statement = _matching(query)
        if before is not None:
            statement = statement.where(AuditEvent.id < before)
        batch = list(
            db.session.scalars(statement.order_by(AuditEvent.id.desc()).limit(EXPORT_BATCH))
        )
        if not batch:
            return
        yield from _with_subjects(batch)
        before = batch[-1].id


def _matching(query: AuditQuery) -> Select:
    statement = select(AuditEvent).options(*_shown_with())
    if query.username:
        statement = statement.where(_about_username(query.username.strip()))
    if query.institution_code:
        institution = select(Institution.id).where(
            Institution.code == query.institution_code.strip()
        )
        statement = statement.where(AuditEvent.institution_id.in_(institution))
    if query.action:
        action = query.action.strip()
        statement = statement.where(
            (AuditEvent.action == action)
            | AuditEvent.action.startswith(action + ".", autoescape=True)
        )
    if query.date_from:
        statement = statement.where(AuditEvent.occurred_at >= _taipei_midnight(query.date_from))
    if query.date_to:
        statement = statement.where(
            AuditEvent.occurred_at < _taipei_midnight(query.date_to + timedelta(days=1))
        )
    return statement


def _shown_with():
    """Who did it and at which institution, loaded with the events that show them."""
    return selectinload(AuditEvent.actor), selectinload(AuditEvent.institution)


def _with_subjects(events: list[AuditEvent]) -> list[AuditEntry]:
    """The events, each with the account it is about (one query for all of them)."""
    ids = {
        int(event.subject_id)
        for event in events
        if event.subject_type == "account" and event.subject_id.isdigit()
    }
    accounts = (
        {
            str(account.id): account
            for account in db.session.scalars(select(Account).where(Account.id.in_(ids)))
        }
        if ids
        else {}
    )
    return [
        AuditEntry(
            event, accounts.get(event.subject_id) if event.subject_type == "account" else None
        )
        for event in events
    ]


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
