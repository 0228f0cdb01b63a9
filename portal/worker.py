"""The worker: the process beside the web server that does what no request should wait for.

Today that is delivering the outbox's mail and the subsystems' back-channel logout tokens.
`flask worker` runs `run` until SIGTERM or SIGINT; `flask worker --once` runs one pass
(tests, cron).
"""

import logging
import threading

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from portal.oidc.logout import deliver_due_logouts
from portal.outbox.services import DeliveryReport, deliver_due

log = logging.getLogger(__name__)


def run_once(app: Flask) -> DeliveryReport:
    """One pass: send the mail and the logout tokens due now; what it did with the mail."""
    with app.app_context():
        report = deliver_due()
        logouts = deliver_due_logouts()
        if logouts.sent or logouts.retrying or logouts.dead:
            log.info("worker: back-channel logout %s", logouts)
        return report


def run(app: Flask, stop: threading.Event) -> None:
    """Pass after pass, WORKER_POLL_SECONDS apart, until `stop` is set.

    A database that went away (a restart, a failover) ends one pass, not the worker.
    """
    poll_seconds = app.config["WORKER_POLL_SECONDS"]
    while not stop.is_set():
        try:
            report = run_once(app)
        except SQLAlchemyError:
            log.exception("worker: the pass failed; trying again in %s s", poll_seconds)
        else:
            if report.sent or report.retrying or report.dead:
                log.info("worker: %s", report)
        stop.wait(poll_seconds)
