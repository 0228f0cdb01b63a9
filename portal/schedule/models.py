"""One row per scheduled job and day: the claim that lets only one worker run it."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db


class ScheduledRun(db.Model):
    """A job's run for one period (a Taipei date), committed with what the job did.

    The unique (job, period) pair is what makes a second worker's claim fail: the job then
    ran, or runs, elsewhere.
    """

    __tablename__ = "scheduled_runs"
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(20))
    ran_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # host:pid of the worker that ran it, and the id its log lines and e-mails carry.
    worker: Mapped[str] = mapped_column(String(100))
    request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
