"""Days an administrator declared off (typhoon closures) or on, overriding the calendar."""

import enum
from datetime import date, datetime

from sqlalchemy import Date, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, enum_type, utcnow
from portal.extensions import db


class OverrideKind(enum.StrEnum):
    """Whether the day became a day off or a working day."""

    CLOSED = "closed"  # e.g. 停止上班 for a typhoon
    WORKING = "working"


class CalendarOverride(db.Model):
    """An administrator's override of one day of the government calendar."""

    __tablename__ = "calendar_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[OverrideKind] = mapped_column(enum_type(OverrideKind))
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
