"""Personal accounts of institution staff."""

import enum
import uuid
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db_types import UTCDateTime, enum_type, utcnow
from portal.extensions import db
from portal.institutions.models import Institution
from portal.subsystems.models import Subsystem, SubsystemRequest


class Role(enum.StrEnum):
    """An institution staff member's role in the portal."""

    MANAGER = "manager"  # 單位業務管理者
    GENERAL = "general"  # 一般使用者


def username_key(username: str) -> str:
    """The case-folded form of an account name that the unique constraint compares."""
    return username.strip().casefold()


class AccountState(enum.StrEnum):
    """Where an account stands; only active accounts may sign in."""

    PENDING = "pending"
    ACTIVE = "active"
    REFUSED = "refused"
    DEACTIVATED = "deactivated"


class StaffRole(enum.StrEnum):
    """The agency's own staff: what they may do in the portal."""

    HELP_DESK = "help_desk"  # 系統人員／駐點人員: paper reviews
    SUBSYSTEM_ADMIN = "subsystem_admin"  # 子系統管理者: access to their subsystems
    PORTAL_ADMIN = "portal_admin"  # 入口網管理者: content, staff, institutions, audit


class Account(UserMixin, db.Model):
    """A person's account: institution staff (role, institution) or agency staff (staff_role)."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint(
            "(institution_id IS NOT NULL AND role IS NOT NULL) OR staff_role IS NOT NULL",
            name="belongs_somewhere",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(30))
    # Case-folded username: the unique constraint makes "Chen01" and "chen01" one name.
    username_key: Mapped[str] = mapped_column(String(30), unique=True)
    # The subject (`sub`) subsystems know the person by: random, stable, never the ID number.
    # Always filled (here, and for older accounts by their migration); the column allows
    # NULL only because SQLite cannot require it without rebuilding this much-referenced table.
    subject: Mapped[str | None] = mapped_column(
        String(36), index=True, unique=True, default=lambda: str(uuid.uuid4())
    )
    password_hash: Mapped[str] = mapped_column(String(200))
    national_id_encrypted: Mapped[str] = mapped_column(Text)
    national_id_digest: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str] = mapped_column(String(30))
    mobile: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str] = mapped_column(String(254))
    # 機構、部門 on the paper form: optional, as the person writes it.
    department: Mapped[str | None] = mapped_column(String(100))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    role: Mapped[Role | None] = mapped_column(enum_type(Role))
    staff_role: Mapped[StaffRole | None] = mapped_column(enum_type(StaffRole))
    state: Mapped[AccountState] = mapped_column(
        enum_type(AccountState), default=AccountState.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # No longer written: lockout is counted from the audit trail (auth/lockout.py). Kept
    # until a migration drops them.
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Staff sign in with a second factor: an encrypted TOTP seed, confirmed at enrolment.
    totp_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column()

    institution: Mapped[Institution | None] = relationship()
    subsystem_requests: Mapped[list[SubsystemRequest]] = relationship(
        order_by=SubsystemRequest.id, back_populates="account"
    )

    administered_subsystems: Mapped[list[Subsystem]] = relationship(
        secondary="subsystem_admin_scopes", order_by=Subsystem.sort_order
    )

    @property
    def is_staff(self) -> bool:
        """Whether this is an agency staff account (second factor required)."""
        return self.staff_role is not None

    @property
    def is_manager(self) -> bool:
        """Whether this is an active unit manager."""
        return self.role is Role.MANAGER and self.is_active

    @property
    def is_active(self) -> bool:
        """Flask-Login asks this: only active accounts may hold a session."""
        return self.state is AccountState.ACTIVE

    def __repr__(self) -> str:
        return f"<Account {self.username}>"


class SubsystemAdminScope(db.Model):
    """Which subsystems a subsystem administrator administers."""

    __tablename__ = "subsystem_admin_scopes"
    __table_args__ = (UniqueConstraint("account_id", "subsystem_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    subsystem_id: Mapped[int] = mapped_column(ForeignKey("subsystems.id"))
