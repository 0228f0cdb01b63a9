"""Server-side sign-in sessions and password-reset tokens.

Both are found by a SHA-256 digest of a random token the browser or the e-mail holds, so a
copy of the database alone lets nobody in.
"""

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account
from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db


class UserSession(db.Model):
    """One signed-in browser; ending it signs that browser out."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remote_addr: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    # How the person proved who they are (RFC 8176 values, space-separated): "pwd", or
    # "pwd otp" for staff, whose second factor subsystems read from the ID token's amr/acr.
    auth_methods: Mapped[str] = mapped_column(String(40), default="pwd", server_default="pwd")

    account: Mapped[Account] = relationship()


class PasswordResetToken(db.Model):
    """A one-time link to set a new password."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account] = relationship()
