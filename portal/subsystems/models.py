"""The agency's subsystems and each account's requests for access to them."""

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime, enum_type, utcnow
from portal.extensions import db


class Subsystem(db.Model):
    """A subsystem reached through the portal (戒菸服務系統, 口腔癌篩檢系統, …)."""

    __tablename__ = "subsystems"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __repr__(self) -> str:
        return f"<Subsystem {self.code}>"


class RequestState(enum.StrEnum):
    """Where a request for subsystem access stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    REVOKED = "revoked"


class SubsystemRequest(db.Model):
    """One account's request for one subsystem, decided by that subsystem's administrators."""

    __tablename__ = "subsystem_requests"
    __table_args__ = (UniqueConstraint("account_id", "subsystem_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    subsystem_id: Mapped[int] = mapped_column(ForeignKey("subsystems.id"))
    state: Mapped[RequestState] = mapped_column(
        enum_type(RequestState), default=RequestState.PENDING
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the person asks (asked from 我的子系統), and why a refusal said no.
    justification: Mapped[str | None] = mapped_column(String(200))
    refusal_reason: Mapped[str | None] = mapped_column(String(200))
    # The sign-in a subsystem asked for while access was missing: opening the subsystem
    # once access is granted resumes it, so the person lands where they wanted to go.
    resume_path: Mapped[str | None] = mapped_column(String(2000))

    subsystem: Mapped[Subsystem] = relationship(lazy="joined")
    account: Mapped["Account"] = relationship(back_populates="subsystem_requests")  # noqa: F821
