"""One row per e-mail to send: queued with the decision that caused it, sent by the worker."""

import enum
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, enum_type, utcnow
from portal.extensions import db


class OutboxState(enum.StrEnum):
    """Where a message stands."""

    QUEUED = "queued"  # waiting for its first try, a retry, or a worker that died mid-send
    SENT = "sent"  # the SMTP server accepted it
    DEAD = "dead"  # every try failed: a portal administrator may send it again


class OutboxMessage(db.Model):
    """A plain-text e-mail. Rolled back with its transaction, it was never queued at all."""

    __tablename__ = "outbox_messages"
    # The worker's question: which queued messages are due, oldest first.
    __table_args__ = (Index("ix_outbox_messages_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    # Emptied once sent: a reset link must not outlive its delivery in the database.
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[OutboxState] = mapped_column(enum_type(OutboxState), default=OutboxState.QUEUED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When a worker may next try it: at once, after a failure's backoff, or after the lease
    # of a worker that claimed it and never reported back.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The request (or scheduled job) that queued it: the worker logs its tries under it.
    request_id: Mapped[str | None] = mapped_column(String(64))
