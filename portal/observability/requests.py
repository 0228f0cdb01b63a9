"""What every request pays for observability: its id, its count and latency, one log line.

Kept to a few microseconds (see the README's operations section for the measured cost):
the id is a regular-expression check or 16 random bytes, the metric children are looked up
in a dict once made, and the log line is formatted only when the level lets it through.
Numbers that need the database (queue depths, overdue cases) are computed when Prometheus
scrapes, never here.
"""

import logging
from time import perf_counter

from flask import Flask, Response, g, request

from portal.observability.metrics import observe_request
from portal.observability.request_ids import REQUEST_ID, accepted_request_id

access_log = logging.getLogger("portal.access")
# Probes and scrapes come every few seconds from every monitor: counted, not logged.
QUIET_ENDPOINTS = frozenset({"monitoring.healthz", "monitoring.readyz", "monitoring.metrics"})
UNMATCHED = "<unmatched>"


def _start_request() -> None:
    REQUEST_ID.set(accepted_request_id(request.headers.get("X-Request-ID")))
    g.request_started = perf_counter()


def init_request_observability(app: Flask) -> None:
    """Register the first before-request hook and the last after-request hook."""
    log_requests = app.config["LOG_REQUESTS"]

    def finish_request(response: Response) -> Response:
        started = g.get("request_started")
        if started is None:  # an answer made before the first hook ran
            _start_request()
            started = g.request_started
        seconds = perf_counter() - started
        current = request._get_current_object()  # one proxy lookup, not one per attribute
        rule = current.url_rule
        route = rule.rule if rule is not None else UNMATCHED
        status = response.status_code
        observe_request(route, current.method, status, seconds)
        response.headers["X-Request-ID"] = REQUEST_ID.get()
        if (
            log_requests
            and access_log.isEnabledFor(logging.INFO)
            and (status >= 400 or current.endpoint not in QUIET_ENDPOINTS)
        ):
            _log_access(current, route, status, seconds)
        return response

    # First in, so that the id exists for every other hook; after-request hooks run in
    # reverse, so index 0 runs last and times everything the others did.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request_funcs.setdefault(None, []).insert(0, finish_request)


def _log_access(current, route: str, status: int, seconds: float) -> None:
    """One line for the request; the route, never the path (it may carry a reset token)."""
    access_log.info(
        "%s %s %s",
        current.method,
        route,
        status,
        extra={
            "method": current.method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "remote_addr": current.remote_addr,
        },
    )
