"""The append-only audit trail: who did what, when, from where."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db


class AuditEvent(db.Model):
    """One decision or security-relevant event. Rows are never updated or deleted.

    The migration adds database triggers that refuse UPDATE and DELETE on this table, so
    the rule holds even for code that bypasses the ORM.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(50), index=True)
    actor_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    subject_type: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[str] = mapped_column(String(40))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    remote_addr: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The request (or scheduled job) that recorded it, as the logs name it.
    request_id: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped["Account | None"] = relationship(viewonly=True)  # noqa: F821 (by name)
    institution: Mapped["Institution | None"] = relationship(viewonly=True)  # noqa: F821
