"""A filed manager change: one filing, one or two people it changes, one decision."""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account
from portal.db_types import UTCDateTime, enum_type, utcnow
from portal.extensions import db
from portal.institutions.models import Institution


class ChangeAction(enum.StrEnum):
    """What a change does to one account."""

    DEACTIVATE = "deactivate"  # B. 停用管理者帳號
    PROMOTE = "promote"  # C.a 升為管理者
    DEMOTE = "demote"  # C.b 降為一般使用者


class ChangeKind(enum.StrEnum):
    """What a filing is, as the help desk filters it and the form ticks it."""

    DEACTIVATE = "deactivate"  # B
    PROMOTE = "promote"  # C.a
    DEMOTE = "demote"  # C.b
    HANDOVER = "handover"  # B or C.b for one person with C.a for another, applied together


class ChangeState(enum.StrEnum):
    """Where a filing stands; the same steps as a manager application."""

    AWAITING_VERIFICATION = "awaiting_verification"  # card or paper still to come
    AWAITING_PAPER_REVIEW = "awaiting_paper_review"  # scan uploaded, help desk decides
    APPROVED = "approved"  # applied
    REFUSED = "refused"  # refused by the help desk; a better scan may be sent again
    WITHDRAWN = "withdrawn"  # the filer took it back


OPEN_CHANGE_STATES = (
    ChangeState.AWAITING_VERIFICATION,
    ChangeState.AWAITING_PAPER_REVIEW,
    ChangeState.REFUSED,
)


class ManagerChange(db.Model):
    """One filing of the manager-change form, identified by its number (M…)."""

    __tablename__ = "manager_changes"
    # The help desk's queue: one state, oldest upload first (as for applications).
    __table_args__ = (
        Index("ix_manager_changes_state_step", "state", "step_started_at"),
        # The help desk's queue and its counts: only filings that went to paper, in order.
        Index(
            "ix_manager_changes_paper_queue",
            "state",
            "step_started_at",
            "change_no",
            postgresql_where=text("paper_at IS NOT NULL"),
            sqlite_where=text("paper_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    change_no: Mapped[str] = mapped_column(String(20), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[ChangeKind] = mapped_column(enum_type(ChangeKind))
    state: Mapped[ChangeState] = mapped_column(enum_type(ChangeState))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the current step began (a scan uploaded, …); review due dates count from here.
    step_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the first stamped scan arrived: from then on the help desk's queue shows it.
    paper_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    verified_by: Mapped[str | None] = mapped_column(String(10))  # "card" or "paper"
    refusal_reason: Mapped[str | None] = mapped_column(String(200))

    institution: Mapped[Institution] = relationship()
    filed_by: Mapped[Account] = relationship(foreign_keys=[filed_by_id])
    decided_by: Mapped[Account | None] = relationship(foreign_keys=[decided_by_id])
    items: Mapped[list["ManagerChangeItem"]] = relationship(
        order_by="ManagerChangeItem.id", back_populates="change", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        """Whether the filing still waits for verification or a decision."""
        return self.state in OPEN_CHANGE_STATES

    def __repr__(self) -> str:
        return f"<ManagerChange {self.change_no} {self.kind} {self.state}>"


class ManagerChangeItem(db.Model):
    """One account a filing changes, and how."""

    __tablename__ = "manager_change_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("manager_changes.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    action: Mapped[ChangeAction] = mapped_column(enum_type(ChangeAction))
    # The account again while the filing is open, NULL once it is decided or withdrawn: the
    # unique constraint is the database's own "one open change per account".
    open_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"), unique=True)

    change: Mapped[ManagerChange] = relationship(back_populates="items")
    account: Mapped[Account] = relationship(foreign_keys=[account_id])
