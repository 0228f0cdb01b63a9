"""What the benchmark's gunicorn serves: the portal plus one trivial route.

`/_bench/floor` answers "ok" without touching the database or a template, yet it goes through
every request hook the real routes go through (session, Babel, CSRF, security headers). Its
throughput is the framework floor the other scenarios are compared with. The route exists
only in this module, so the portal itself gains nothing that production would serve.
"""

from flask import Flask

from bench.scenarios import FLOOR_PATH
from portal import create_app


def build_app() -> Flask:
    """The portal, configured from the environment, with the floor route added."""
    application = create_app()

    @application.get(FLOOR_PATH)
    def bench_floor() -> str:
        """Nothing but the framework: no database, no template."""
        return "ok"

    return application


app = build_app()
