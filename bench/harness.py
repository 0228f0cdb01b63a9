"""What every benchmark's `main` does around its own run.

The run happens in a scratch folder; a SIGTERM (make interrupted, CI timeout) unwinds like
an exception, so servers are stopped and databases dropped on the way out. The exit status
is 0 whether targets pass or fail (the table says FAIL); it is non-zero only when the
benchmark itself breaks.
"""

import os
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from flask import Flask

from bench.database import Secrets, bench_database, migrated_app
from bench.load import CONNECTIONS, ROUNDS, SECONDS, WARMUP_SECONDS
from bench.measure import log
from bench.report import Row
from bench.seed import INSTITUTION_COUNT, SeedContext, seed_institutions
from bench.server import ServerOptions
from portal.extensions import db

T = TypeVar("T")

Run = Callable[[Path, ServerOptions], list[Row]]
Document = Callable[[list[Row], ServerOptions], str]


def run_benchmark(run: Run, document: Document, results: Path) -> int:
    """Run, then print the document and write it to `results`; 0 unless the run failed."""
    options = ServerOptions()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    try:
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as workdir:
            rows = run(Path(workdir), options)
    except Exception:  # noqa: BLE001 - any failure of the harness is reported the same way
        traceback.print_exc()
        log("the benchmark itself failed; no results")
        return 1
    text = document(rows, options)
    print(text)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(text, encoding="utf-8")
    log(f"written to {results}")
    return 0


def timed(label: str, action: Callable[..., T], *args: object) -> T:
    """Run `action`, logging how long it took."""
    started = time.monotonic()
    result = action(*args)
    log(f"{label}: {time.monotonic() - started:.1f} s")
    return result


@dataclass(frozen=True)
class BenchDatabase:
    """A migrated bench database with the institutions seeded, and what serves it."""

    url: str
    keys: Secrets
    instance: Path  # the private instance folder the servers are given
    app: Flask  # the production configuration on this database, for seeding
    seed: SeedContext


@contextmanager
def seeded_database(workdir: Path) -> Iterator[BenchDatabase]:
    """Fresh keys, a database migrated like production, 30,001 institutions; all dropped after."""
    keys = Secrets.generate()
    instance = workdir / "instance"
    # Read by create_app: a private instance folder, whatever the developer's holds.
    os.environ["PORTAL_INSTANCE_PATH"] = str(instance)
    with bench_database() as url:
        app = timed("migrate", migrated_app, url, keys)
        try:
            seed = timed(f"seed {INSTITUTION_COUNT + 1:,} institutions", seed_institutions, app)
            yield BenchDatabase(url, keys, instance, app, seed)
        finally:
            close_connections(app)  # before the database is dropped


def close_connections(app: Flask) -> None:
    """Close the seeding app's pooled connections: a database in use cannot be copied or dropped."""
    with app.app_context():
        db.engine.dispose()


def setup_line(options: ServerOptions, workload: str) -> str:
    """The first line of a results file: when, on what, how long, with which data."""
    return (
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {os.cpu_count()} CPU cores; "
        f"{options.describe()}; PostgreSQL on the same machine; {CONNECTIONS} clients, "
        f"{SECONDS} s per scenario in {ROUNDS} rounds after {WARMUP_SECONDS} s warm-up; "
        f"{workload}."
    )
