"""Challenges for institution-card verification and stamped scans for paper review.

Each belongs to exactly one filing: a manager application (form A) or a manager change
(forms B and C).
"""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db

ONE_FILING = "(application_id IS NULL) <> (change_id IS NULL)"


class CardChallenge(db.Model):
    """A random challenge bound to one filing: valid for minutes, usable once."""

    __tablename__ = "card_challenges"
    __table_args__ = (CheckConstraint(ONE_FILING, name="one_filing"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    change_id: Mapped[int | None] = mapped_column(ForeignKey("manager_changes.id"), index=True)
    nonce: Mapped[str] = mapped_column(String(64), unique=True)  # base64 of 32 random bytes
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PaperScan(db.Model):
    """One uploaded scan of the stamped form; earlier uploads stay as history."""

    __tablename__ = "paper_scans"
    __table_args__ = (CheckConstraint(ONE_FILING, name="one_filing"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), index=True)
    change_id: Mapped[int | None] = mapped_column(ForeignKey("manager_changes.id"), index=True)
    # Random name under UPLOAD_DIR; the original name is only shown, never used as a path.
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the QR code on the scan said: "matched" the filing, or "unreadable" (the reviewer
    # compares by eye). A scan of another filing's form is refused, so never stored.
    qr_status: Mapped[str | None] = mapped_column(String(20))
