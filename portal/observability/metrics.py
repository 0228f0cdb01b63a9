"""Prometheus metrics: request counts and latency kept by each process, and the portal's
work (queues, overdue cases, the outbox, scheduled jobs) read from the database when
Prometheus scrapes.

With several gunicorn workers, set PROMETHEUS_MULTIPROC_DIR (an empty folder, emptied at
each start) before the processes start: each then writes its counts to a file there, and a
scrape adds up every worker's (prometheus_client's multiprocess mode).
"""

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "portal_http_requests",
    "Requests answered, by route (the URL rule, not the path), method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "portal_http_request_duration_seconds",
    "Time from the first to the last hook of a request, by route and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
# A method label outside these is "other": a client cannot create series by inventing them.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# labels() validates and locks on every call; the children it returns never change.
_counted: dict[tuple[str, str, int], object] = {}
_timed: dict[tuple[str, str], object] = {}


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request and its latency."""
    if method not in KNOWN_METHODS:
        method = "other"
    key = (route, method, status)
    counter = _counted.get(key)
    if counter is None:
        counter = _counted[key] = REQUESTS.labels(route, method, str(status))
    counter.inc()
    timer = _timed.get(key[:2])
    if timer is None:
        timer = _timed[key[:2]] = LATENCY.labels(route, method)
    timer.observe(seconds)


def exposition(*scrape_time_collectors) -> bytes:
    """The text Prometheus reads: every process's request metrics, then the given collectors
    (computed now)."""
    multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if multiprocess_dir:
        requests = CollectorRegistry()
        MultiProcessCollector(requests, path=multiprocess_dir)
    else:
        requests = REGISTRY
    scraped = CollectorRegistry()
    for collector in scrape_time_collectors:
        scraped.register(collector)
    return generate_latest(requests) + generate_latest(scraped)
