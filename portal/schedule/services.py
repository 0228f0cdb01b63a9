"""Running daily jobs once per day, however many workers run them.

A worker whose clock has passed a job's time of day claims the day's run: it inserts the
(job, period) row and does the job in that same transaction, and commits both together.
Another worker's claim of the same pair fails on the unique key, so the job runs once; a
job that fails rolls its claim back with its work, and a worker tries it again later. On
PostgreSQL a transaction-level advisory lock is taken first, so a second worker skips a
job being run instead of waiting for it on the unique index; on SQLite the database's write
lock (BEGIN IMMEDIATE) serialises the claims.
"""

import enum
import hashlib
import logging
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.localtime import TAIPEI
from portal.observability.request_ids import new_request_id, request_id_set
from portal.schedule.models import ScheduledRun

log = logging.getLogger(__name__)
OFF = "off"


@dataclass(frozen=True)
class Job:
    """A daily job: its name, the setting holding its time of day, and the work.

    `work(now)` runs inside the claim's transaction and must not commit; it returns what
    it did, which the run's row keeps.
    """

    name: str
    time_setting: str
    work: Callable[[datetime], dict[str, Any]]
    enabled: Callable[[Mapping], bool] = lambda config: True


class Outcome(enum.StrEnum):
    """What one attempt at a job's run came to."""

    RAN = "ran"  # this worker ran it and committed
    DONE = "done"  # another worker had already run it for this period
    BUSY = "busy"  # another worker is running it now (PostgreSQL)
    FAILED = "failed"  # it raised; rolled back, tried again after SCHEDULE_RETRY_SECONDS


@dataclass(frozen=True)
class RunReport:
    """One attempt at a job's run for a period."""

    job: str
    period: str
    outcome: Outcome
    detail: dict[str, Any] = field(default_factory=dict)


def time_of_day(text: str) -> time | None:
    """A job's time setting: "HH:MM" (Taipei), or "off" for never; ValueError otherwise."""
    if text.strip().lower() == OFF:
        return None
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ValueError(f"not HH:MM or off: {text!r}")
    return time(int(hours), int(minutes))


def lock_key(job_name: str) -> int:
    """The job's PostgreSQL advisory-lock key: a stable signed 64-bit number."""
    digest = hashlib.sha256(f"portal.schedule:{job_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def worker_name() -> str:
    """host:pid, as the run's row records who ran it."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


class Scheduler:
    """One worker's view of the schedule: what it saw done today, and what failed lately.

    Only jobs not yet seen done for the day reach the database, so a pass every few seconds
    costs nothing once the day's jobs have run.
    """

    def __init__(self, jobs: tuple[Job, ...]) -> None:
        self.jobs = jobs
        self.done_for: dict[str, str] = {}
        self.retry_after: dict[str, datetime] = {}

    def run_due(self, now: datetime) -> list[RunReport]:
        """Run every job whose time of day has come and that no worker ran for the day."""
        config = current_app.config
        local = now.astimezone(TAIPEI)
        period = local.date().isoformat()
        reports = []
        for job in self.jobs:
            at = time_of_day(config[job.time_setting])
            if at is None or not job.enabled(config) or local.time() < at:
                continue
            if self.done_for.get(job.name) == period or now < self.retry_after.get(job.name, now):
                continue
            report = self._attempt(job, period, now)
            if report.outcome in (Outcome.RAN, Outcome.DONE):
                self.done_for[job.name] = period
            elif report.outcome is Outcome.FAILED:
                self.retry_after[job.name] = now + timedelta(
                    seconds=config["SCHEDULE_RETRY_SECONDS"]
                )
            reports.append(report)
        return reports

    def _attempt(self, job: Job, period: str, now: datetime) -> RunReport:
        """Claim and run one job for one period, under a request id of its own."""
        with request_id_set(new_request_id()) as request_id:
            try:
                report = claim_and_run(job, period, now, request_id)
            # Any failure of a job ends that job's attempt, never the worker.
            except Exception:  # noqa: BLE001
                db.session.rollback()
                log.exception(
                    "scheduled job %s for %s failed",
                    job.name,
                    period,
                    extra={"job": job.name, "period": period},
                )
                return RunReport(job.name, period, Outcome.FAILED)
            if report.outcome is Outcome.RAN:
                log.info(
                    "scheduled job %s for %s: %s",
                    job.name,
                    period,
                    report.detail,
                    extra={"job": job.name, "period": period, "detail": report.detail},
                )
            return report


def claim_and_run(job: Job, period: str, now: datetime, request_id: str) -> RunReport:
    """Claim the job's run for the period and do it, committed together; or say why not."""
    session = db.session
    if not _advisory_lock(job.name):
        session.rollback()
        return RunReport(job.name, period, Outcome.BUSY)
    already = select(ScheduledRun.id).where(
        ScheduledRun.job == job.name, ScheduledRun.period == period
    )
    if session.scalar(already) is not None:
        session.rollback()
        return RunReport(job.name, period, Outcome.DONE)
    run = ScheduledRun(
        job=job.name, period=period, ran_at=now, worker=worker_name(), request_id=request_id
    )
    session.add(run)
    try:
        session.flush()
    except IntegrityError:
        # Claimed by another worker between the look and the insert.
        session.rollback()
        return RunReport(job.name, period, Outcome.DONE)
    detail = job.work(now)
    run.detail = detail
    session.commit()
    return RunReport(job.name, period, Outcome.RAN, detail)


def _advisory_lock(job_name: str) -> bool:
    """PostgreSQL: take the job's lock for this transaction unless another holds it; whether
    taken. Elsewhere always true (SQLite's write lock serialises the claims)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    return bool(db.session.scalar(select(func.pg_try_advisory_xact_lock(lock_key(job_name)))))


def last_runs() -> dict[str, datetime]:
    """When each job last ran, for monitoring."""
    return dict(
        db.session.execute(
            select(ScheduledRun.job, func.max(ScheduledRun.ran_at)).group_by(ScheduledRun.job)
        ).all()
    )
