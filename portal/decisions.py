"""Deciding one thing, the same way for every kind: lock, check, decide, audit, notify, commit.

A general user's application (decided by a unit manager), a paper-verified manager
application (form A) and a manager change (forms B and C, by card or on paper) are each a
`DecisionKind`. `decide` runs the one path: of two people deciding the same thing at once,
the second waits on the row lock, finds it decided, and changes nothing.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from portal.audit.services import Origin, record_event
from portal.db_types import utcnow
from portal.errors import AlreadyDecided, DomainError, NotInScope
from portal.extensions import db

Subject = TypeVar("Subject")


@dataclass(frozen=True)
class Decision:
    """Who decides, what, why, and from where."""

    actor_id: int
    approve: bool
    reason: str = ""
    origin: Origin = field(default_factory=Origin)
    # How it was verified, for kinds that record it ("card", "paper").
    verified_by: str | None = None


class DecisionKind(ABC, Generic[Subject]):
    """What `decide` needs to know about one kind of thing to decide."""

    subject_type: str
    approved_action: str
    refused_action: str

    @abstractmethod
    def lock(self, subject_id: int) -> Subject | None:
        """The subject, locked for the rest of the transaction; None if there is none."""

    @abstractmethod
    def is_open(self, subject: Subject) -> bool:
        """Whether it still waits for this decision."""

    @abstractmethod
    def approve(self, subject: Subject, decision: Decision, now: datetime) -> None:
        """Apply an approval; raise a DomainError to change nothing."""

    @abstractmethod
    def refuse(self, subject: Subject, decision: Decision, now: datetime) -> None:
        """Record a refusal."""

    @abstractmethod
    def audit_key(self, subject: Subject) -> tuple[str, int | None]:
        """The subject's number for the audit trail, and its institution."""

    def audit_detail(self, subject: Subject, decision: Decision) -> dict:
        """What the audit event records besides who and what: the reason, by default."""
        return {"reason": decision.reason} if decision.reason else {}

    def notify(self, subject: Subject, decision: Decision) -> None:  # noqa: B027
        """Queue the e-mails to the people concerned (nothing by default).

        Called before the commit: the messages are committed with the decision, or rolled
        back with it, and the worker sends them.
        """


def decide(kind: DecisionKind[Subject], subject_id: int, decision: Decision) -> Subject:
    """Decide once: the winner of a race commits, everyone else gets AlreadyDecided."""
    subject = kind.lock(subject_id)
    if subject is None:
        db.session.rollback()
        raise NotInScope()
    if not kind.is_open(subject):
        db.session.rollback()
        raise AlreadyDecided()
    now = utcnow()
    try:
        if decision.approve:
            kind.approve(subject, decision, now)
        else:
            kind.refuse(subject, decision, now)
    except DomainError:
        db.session.rollback()
        raise
    number, institution_id = kind.audit_key(subject)
    record_event(
        kind.approved_action if decision.approve else kind.refused_action,
        subject_type=kind.subject_type,
        subject_id=number,
        origin=decision.origin,
        actor_account_id=decision.actor_id,
        institution_id=institution_id,
        detail=kind.audit_detail(subject, decision),
    )
    kind.notify(subject, decision)
    db.session.commit()
    return subject
