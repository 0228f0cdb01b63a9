"""Account applications (帳號申請)."""

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account
from portal.db_types import UTCDateTime, enum_type, utcnow
from portal.extensions import db
from portal.institutions.models import Institution


class ApplicationState(enum.StrEnum):
    """Where an application stands."""

    AWAITING_VERIFICATION = "awaiting_verification"  # manager: card or paper still to come
    AWAITING_PAPER_REVIEW = "awaiting_paper_review"  # manager: scan uploaded, help desk decides
    AWAITING_MANAGER = "awaiting_manager"  # general user: a unit manager decides
    APPROVED = "approved"
    REFUSED = "refused"


OPEN_STATES = (
    ApplicationState.AWAITING_VERIFICATION,
    ApplicationState.AWAITING_PAPER_REVIEW,
    ApplicationState.AWAITING_MANAGER,
)


class Application(db.Model):
    """One application for a personal account, identified by its application number."""

    __tablename__ = "applications"
    # The help desk's queue: one state, oldest upload first.
    __table_args__ = (
        Index("ix_applications_state_step", "state", "step_started_at"),
        # The help desk's queue and its counts: only filings that went to paper, in order.
        Index(
            "ix_applications_paper_queue",
            "state",
            "step_started_at",
            "application_no",
            postgresql_where=text("paper_at IS NOT NULL"),
            sqlite_where=text("paper_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_no: Mapped[str] = mapped_column(String(20), unique=True)
    # The form's one-time token: a double submission finds the application it already made.
    submission_token: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    state: Mapped[ApplicationState] = mapped_column(enum_type(ApplicationState), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the current step began (a scan uploaded, …); review due dates count from here.
    step_started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the first stamped scan arrived: from then on the help desk's queue shows it.
    paper_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    # How a manager application was verified: "card" or "paper".
    verified_by: Mapped[str | None] = mapped_column(String(10))
    refusal_reason: Mapped[str | None] = mapped_column(String(200))

    account: Mapped[Account] = relationship(foreign_keys=[account_id])
    institution: Mapped[Institution] = relationship()

    @property
    def is_manager_application(self) -> bool:
        """Whether this application asks for the unit-manager role."""
        return self.account.role == "manager"

    def __repr__(self) -> str:
        return f"<Application {self.application_no} {self.state}>"
