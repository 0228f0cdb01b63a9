"""The public pages' scenarios: `python -m bench.public_pages` (part of `make bench`).

1. A fresh PostgreSQL database, migrated, with 30,001 institutions and 10,000
   announcements: a few pinned, most published over three years, some drafts, scheduled
   ones and ones past their 上網期限 (so the list's publish-window condition has rows to
   skip), a third of them about one subsystem.
2. gunicorn serving the portal (plus the trivial floor route, bench/floor_app.py).
3. The floor, then GET / and GET /announcements as a new visitor (no cookie), each judged
   against the floor's requests per second; then, for information, a keyword search.
4. A Markdown table on stdout and in bench/results/public_pages.md.

The exit status is 0 whether targets pass or fail (the table says FAIL); non-zero only when
the benchmark itself breaks (bench/harness.py). Database and server are removed in every case.
"""

import os
import random
import sys
from datetime import timedelta
from pathlib import Path

from flask import Flask

from bench import report, scenarios
from bench.bulk import copy_rows
from bench.harness import run_benchmark, seeded_database, setup_line, timed
from bench.measure import measure
from bench.seed import BATCH_SIZE, INSTITUTION_COUNT, after_explicit_ids, settle
from bench.server import ServerOptions, gunicorn, server_environment
from portal.content.models import Announcement, AnnouncementCategory
from portal.db_types import utcnow
from portal.extensions import db

ANNOUNCEMENTS = int(os.environ.get("BENCH_ANNOUNCEMENTS", "10000"))
PINNED = 8
# Words the titles are made of, and so what the search looks for.
TOPICS = ("系統維護", "補助申報", "操作說明會", "帳號管理", "篩檢結果", "戒菸服務", "颱風停班")
SEARCHES = ("颱風", "補助", "說明會", "帳號", "篩檢", "不存在的字")
RESULTS = Path(__file__).resolve().parent / "results" / "public_pages.md"


def announcement_row(index: int, rng: random.Random, subsystem_ids: list[int]) -> dict:
    """One announcement: published at a random moment of the last three years, mostly."""
    now = utcnow()
    published = now - timedelta(minutes=rng.randrange(3 * 365 * 24 * 60))
    unpublished = None
    roll = rng.random()
    if roll < 0.02:
        published = None  # a draft
    elif roll < 0.04:
        published = now + timedelta(days=rng.randrange(1, 30))  # scheduled
    elif roll < 0.07:
        unpublished = published + timedelta(days=rng.randrange(1, 60))  # past 上網期限
    topic = TOPICS[index % len(TOPICS)]
    return {
        "id": index + 1,
        "title": f"{topic}公告第 {index + 1} 號",
        "category": rng.choice(list(AnnouncementCategory)),
        "subsystem_id": rng.choice(subsystem_ids) if rng.random() < 0.33 else None,
        "body": f"關於{topic}的說明。" * 20,
        "pinned": index < PINNED,
        "publish_at": published if index >= PINNED else now - timedelta(days=index + 1),
        "unpublish_at": unpublished if index >= PINNED else None,
        "created_at": published or now,
        "updated_at": published or now,
        "version": 1,
    }


def seed_announcements(app: Flask, subsystem_ids: list[int], count: int) -> None:
    """`count` announcements, loaded with COPY in batches."""
    rng = random.Random(11)
    rows = [announcement_row(index, rng, subsystem_ids) for index in range(count)]
    with app.app_context():
        for first in range(0, count, BATCH_SIZE):
            with db.engine.begin() as connection:
                copy_rows(connection, Announcement.__table__, rows[first : first + BATCH_SIZE])
        with db.engine.begin() as connection:
            after_explicit_ids(connection, ("announcements",))
        settle(db.engine)


def run(workdir: Path, options: ServerOptions) -> list[report.Row]:
    """Database, seed, server, measurements; everything torn down on the way out."""
    with seeded_database(workdir) as bench:
        timed(
            f"seed {ANNOUNCEMENTS:,} announcements",
            seed_announcements,
            bench.app,
            list(bench.seed.subsystem_ids),
            ANNOUNCEMENTS,
        )
        environment = server_environment(bench.url, bench.keys, bench.instance)
        with gunicorn(environment, options, workdir / "gunicorn.log") as server:
            floor = measure(server, scenarios.floor(), workdir)
            rows = [report.judged(scenarios.floor().name, floor, report.reference())]
            for scenario in (scenarios.home_page(), scenarios.announcements_page()):
                result = measure(server, scenario, workdir)
                rows.append(report.judged(scenario.name, result, report.share_of(floor)))
            search = scenarios.announcement_search(list(SEARCHES))
            rows.append(
                report.judged(search.name, measure(server, search, workdir), report.capacity_info())
            )
            return rows


def document(rows: list[report.Row], options: ServerOptions) -> str:
    """The table with what it was measured on and how to read it."""
    lines = [
        "# Public pages benchmark",
        "",
        setup_line(
            options,
            f"{INSTITUTION_COUNT + 1:,} institutions, {ANNOUNCEMENTS:,} announcements "
            f"({PINNED} pinned; about 2 % drafts, 2 % scheduled, 3 % past their 上網期限)",
        ),
        "",
        "Clients: wrk in a closed loop, each a new visitor (no cookie: the page makes a "
        "session and a CSRF token, as for GET /register). The floor is a route that touches "
        "neither the database nor a template, measured in the same run.",
        "GET / reads the pinned and the latest announcements; GET /announcements the first "
        "page of the list (pinned first, newest first) through the listing index. The search "
        "line (HTMX, the results only; keywords in titles and text, one matching nothing) "
        "has no target: it is there to show what a keyword costs on 10,000 rows.",
        "Rate limiting is OFF (RATELIMIT_ENABLED=false): this measures the application, "
        "not the limiter.",
        "CPU ms/req: CPU time of gunicorn's workers + of PostgreSQL's backends per request.",
        "Latency: the median over the rounds of each round's percentile; req/s over all rounds.",
    ]
    return report.document(lines, rows)


def main() -> int:
    """Run the benchmark; 0 unless the benchmark itself failed."""
    return run_benchmark(run, document, RESULTS)


if __name__ == "__main__":
    sys.exit(main())
