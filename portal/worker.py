"""The worker: the process beside the web server that does what no request should wait for.

It delivers the outbox's mail and the subsystems' back-channel logout tokens, and runs the
daily jobs (portal/schedule/). `flask worker` runs `run` until SIGTERM or SIGINT;
`flask worker --once` runs one pass of each (tests, cron).
"""

import logging
import threading
from datetime import datetime

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from portal.db_types import utcnow
from portal.oidc.logout import deliver_due_logouts
from portal.outbox.services import DeliveryReport, deliver_due
from portal.schedule.jobs import JOBS
from portal.schedule.services import RunReport, Scheduler

log = logging.getLogger(__name__)


def run_once(app: Flask) -> DeliveryReport:
    """One pass: send the mail and the logout tokens due now; what it did with the mail."""
    with app.app_context():
        report = deliver_due()
        logouts = deliver_due_logouts()
        if logouts.sent or logouts.retrying or logouts.dead:
            log.info("worker: back-channel logout %s", logouts)
        return report


def run_scheduled(app: Flask, scheduler: Scheduler, now: datetime | None = None) -> list[RunReport]:
    """Run the daily jobs whose time has come (at `now`, the clock by default)."""
    with app.app_context():
        return scheduler.run_due(now or utcnow())


def new_scheduler() -> Scheduler:
    """A scheduler of the portal's daily jobs."""
    return Scheduler(JOBS)


def run(app: Flask, stop: threading.Event) -> None:
    """Pass after pass, WORKER_POLL_SECONDS apart, until `stop` is set: the daily jobs due,
    then the mail due (a digest queued in the pass goes out in it).

    A database that went away (a restart, a failover) ends one pass, not the worker.
    """
    poll_seconds = app.config["WORKER_POLL_SECONDS"]
    scheduler = new_scheduler()
    while not stop.is_set():
        try:
            run_scheduled(app, scheduler)
            report = run_once(app)
        except SQLAlchemyError:
            log.exception("worker: the pass failed; trying again in %s s", poll_seconds)
        else:
            if report.sent or report.retrying or report.dead:
                log.info("worker: %s", report)
        stop.wait(poll_seconds)
