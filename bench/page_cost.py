"""What each page a visitor opens costs, in-process: `python -m bench.page_cost`.

A quick check while working on rendering, without gunicorn or wrk: a migrated PostgreSQL
database (the institutions seeded), the portal in its production configuration, and Flask's
test client as a new visitor (no cookie, so each answer makes a session and a CSRF token,
as wrk's requests do in `make bench`). Each page is called in blocks; the figure is the
cheapest block's CPU per request of this process, beside the floor route's. The database's
own CPU is not in it: `make bench` reads that too.
"""

import sys
import tempfile
import time
from pathlib import Path

from flask import Flask

from bench.floor import add_floor_route
from bench.harness import close_connections, seeded_database
from bench.scenarios import FLOOR_PATH, VISITOR_PAGES

PATHS = (FLOOR_PATH, "/register", *(path for path, _text in VISITOR_PAGES))
BLOCKS = 7
CALLS_PER_BLOCK = 300


def cpu_per_request(app: Flask, path: str) -> float:
    """The cheapest block's CPU ms per request of GET `path` by new visitors."""
    client = app.test_client()
    base_url = f"http://{app.config['TRUSTED_HOSTS'][0]}"

    def block(calls: int) -> float:
        started = time.process_time()
        for _ in range(calls):
            response = client.get(path, base_url=base_url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path} answered {response.status_code}")
            client._cookies.clear()  # a new visitor each time
        return (time.process_time() - started) * 1000 / calls

    block(CALLS_PER_BLOCK // 3)  # warm-up: templates compiled, connections opened
    return min(block(CALLS_PER_BLOCK) for _ in range(BLOCKS))


def main() -> int:
    """Print each page's CPU per request and its ratio to the floor's."""
    with (
        tempfile.TemporaryDirectory(prefix="portal-bench-") as workdir,
        seeded_database(Path(workdir)) as bench,
    ):
        app = add_floor_route(bench.app)
        costs = {path: cpu_per_request(app, path) for path in PATHS}
        close_connections(app)
    floor = costs[FLOOR_PATH]
    print("| page | CPU ms/req (in-process) | × floor |")
    print("|---|---:|---:|")
    for path, cost in costs.items():
        print(f"| GET {path} | {cost:.2f} | {cost / floor:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
