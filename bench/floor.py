"""The framework floor: one trivial route added to the portal, served or called in-process.

`/_bench/floor` answers "ok" without touching the database or a template, yet it goes through
every request hook the real routes go through (session, Babel, CSRF, security headers). Its
cost is the framework floor the other scenarios are compared with, measured in the same run:
through gunicorn for the served scenarios, through Flask's test client for the in-process
ones. The route exists only in this module, so the portal itself gains nothing that
production would serve.
"""

from flask import Flask

from bench.load import Measurement
from bench.scenarios import FLOOR_PATH
from bench.timings import time_calls

FLOOR_CALLS = 2_000
FLOOR_WARMUP = 200


def add_floor_route(application: Flask) -> Flask:
    """Give `application` the trivial route (before its first request)."""

    @application.get(FLOOR_PATH)
    def bench_floor() -> str:
        """Nothing but the framework: no database, no template."""
        return "ok"

    return application


def in_process_floor(application: Flask) -> Measurement:
    """The floor route called through the test client: in-process scenarios' reference.

    `application` must have the route (add_floor_route) and be the app the scenarios use.
    """
    client = application.test_client()
    host = application.config.get("TRUSTED_HOSTS") or ["localhost"]
    base_url = f"http://{host[0]}"
    return time_calls(
        lambda _index: lambda: client.get(FLOOR_PATH, base_url=base_url),
        FLOOR_CALLS,
        FLOOR_WARMUP,
    ).measurement()
