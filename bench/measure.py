"""Measuring scenarios: check, warm up, then rounds of wrk with CPU accounting.

Several scenarios can be measured side by side ("lanes"): their rounds alternate, so that
whatever else the machine does at the time weighs on each of them alike. The status
look-up at 1,000 and at 100,000 accounts is compared that way.
"""

import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from bench import scenarios
from bench.cpu import CpuSample, CpuUse, children_of, cpu_use, process_cpu_seconds
from bench.database import admin_url
from bench.load import CONNECTIONS, ROUNDS, SECONDS, WARMUP_SECONDS, Measurement, run_wrk
from bench.server import Server
from bench.typists import Typists

# Requests each scenario first sends from Python to check the answers.
CHECK_SAMPLE = 20
# The workers count as idle once they use less CPU than this in a poll interval (/proc
# counts in 10 ms ticks: at most one tick between two polls).
IDLE_CPU_SECONDS = 0.02
IDLE_POLL_SECONDS = 0.1
SETTLE_TIMEOUT_SECONDS = 30


@dataclass
class Lane:
    """One scenario on one server, and what its rounds measured so far."""

    server: Server
    scenario: scenarios.Scenario
    script: Path
    sent: int = 0  # requests sent so far: where wrk starts in the list next time
    rounds: list[tuple[Measurement, CpuUse]] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        """Where wrk sends the requests."""
        return f"http://{self.server.host}:{self.server.port}"


def log(message: str) -> None:
    """Progress on stderr, so that stdout is only the table."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def measure(
    server: Server,
    scenario: scenarios.Scenario,
    workdir: Path,
    connections: int = CONNECTIONS,
    round_seconds: int | None = None,
) -> Measurement:
    """One scenario on one server."""
    return measure_side_by_side(
        [(server, scenario)], workdir, connections, round_seconds=round_seconds
    )[0]


def measure_side_by_side(
    pairs: list[tuple[Server, scenarios.Scenario]],
    workdir: Path,
    connections: int = CONNECTIONS,
    seconds: int = SECONDS,
    round_seconds: int | None = None,
) -> list[Measurement]:
    """Check and warm up each scenario, then run their rounds in turn; one result each.

    Rounds last SECONDS / ROUNDS unless `round_seconds` says otherwise (slow requests, where
    the one each connection has in flight when a round ends is a large share of it); more
    `seconds` means more rounds, not longer ones.
    """
    lanes = [
        Lane(server, scenario, workdir / f"scenario-{index}.lua")
        for index, (server, scenario) in enumerate(pairs)
    ]
    for lane in lanes:
        lane.sent = scenarios.check(lane.server, lane.scenario, CHECK_SAMPLE)
        if WARMUP_SECONDS:
            # Templates compiled, connection pools filled, zxcvbn's dictionaries paged in.
            lane.sent += _run(lane, WARMUP_SECONDS, connections).requests
    round_seconds = round_seconds or max(1, round(SECONDS / ROUNDS))
    for _round in range(max(1, round(seconds / round_seconds))):
        for lane in lanes:
            before = CpuSample.take(lane.server.pid, lane.server.database)
            result = _run(lane, round_seconds, connections)
            after = CpuSample.take(lane.server.pid, lane.server.database)
            lane.rounds.append((result, cpu_use(before, after, result.requests)))
    results = [combine(lane.rounds) for lane in lanes]
    for lane, result in zip(lanes, results, strict=True):
        _log_result(lane.scenario.name, connections, result)
    return results


def _run(lane: Lane, seconds: int, connections: int) -> Measurement:
    """One run, continuing the lane's list where the last one stopped.

    A closed loop goes to wrk; people typing (a scenario with a pause) to bench/typists.py.
    """
    if lane.scenario.pause_ms:
        result = Typists(
            lane.server.host,
            lane.server.port,
            lane.scenario.requests,
            seconds,
            connections,
            lane.scenario.pause_ms,
            offset=lane.sent,
            seed=lane.sent,
        ).run()
    else:
        result = run_wrk(
            lane.base_url, lane.scenario.requests, lane.script, seconds, connections, lane.sent
        )
    lane.sent += result.requests
    wait_until_idle(lane.server)
    return result


def wait_until_idle(server: Server) -> None:
    """Return once the server has finished what wrk left behind.

    wrk stops with requests still queued or running, and gunicorn answers them all to
    clients that have gone; with slow requests (sign-in: argon2, a page with a slow query)
    that work would otherwise run into the next round or the next measurement. Idle is: the
    workers' CPU at rest, no connection waiting to be accepted and no query of the server's
    database running. The CPU alone misses a worker waiting for PostgreSQL, and on a busy
    machine a worker that gets little of a core.
    """
    # Autocommit: within one transaction pg_stat_activity answers from the snapshot that its
    # first read took, and would say "running" until the deadline.
    engine = sa.create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
            last = _workers_cpu_seconds(server)
            while time.monotonic() < deadline:
                time.sleep(IDLE_POLL_SECONDS)
                now = _workers_cpu_seconds(server)
                if (
                    now - last < IDLE_CPU_SECONDS
                    and not _waiting_connections(server)
                    and not _running_queries(connection, server.database)
                ):
                    return
                last = now
    finally:
        engine.dispose()
    log(f"the server was still busy {SETTLE_TIMEOUT_SECONDS} s after wrk stopped")


def _waiting_connections(server: Server) -> int:
    """Connections in the server's accept queue (a listening socket's rx_queue, Linux)."""
    port = f":{server.port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(port) and fields[3] == "0A":  # 0A: LISTEN
            return int(fields[4].split(":")[1], 16)
    return 0


def _running_queries(connection: sa.Connection, database: str) -> int:
    """Statements running in the database now (the asking connection is on another one)."""
    if not database:
        return 0
    return connection.scalar(
        sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = :name AND state = 'active'"),
        {"name": database},
    )


def _workers_cpu_seconds(server: Server) -> float:
    return sum(process_cpu_seconds(pid) for pid in children_of(server.pid))


def combine(rounds: list[tuple[Measurement, CpuUse]]) -> Measurement:
    """Throughput and CPU over all rounds; latency percentiles as the rounds' medians.

    A burst of unrelated work on a shared machine then spoils one round, not the figure.
    """
    requests = sum(result.requests for result, _use in rounds)
    seconds = sum(result.seconds for result, _use in rounds)

    def per_request(value: float, result: Measurement) -> float:
        return value * result.requests / max(requests, 1)

    return Measurement(
        requests=requests,
        requests_per_second=requests / seconds,
        p50_ms=statistics.median(result.p50_ms for result, _use in rounds),
        p95_ms=statistics.median(result.p95_ms for result, _use in rounds),
        p99_ms=statistics.median(result.p99_ms for result, _use in rounds),
        errors=sum(result.errors for result, _use in rounds),
        seconds=seconds,
        app_cpu_ms=sum(per_request(use.app_ms_per_request, r) for r, use in rounds),
        db_cpu_ms=sum(per_request(use.db_ms_per_request, r) for r, use in rounds),
        other_cpu_share=statistics.fmean(use.other_share for _result, use in rounds),
    )


def _log_result(name: str, connections: int, result: Measurement) -> None:
    log(
        f"{name}, {connections} connections: {result.requests_per_second:.0f} req/s, "
        f"p50 {result.p50_ms:.1f} ms, p95 {result.p95_ms:.1f} ms, errors {result.errors}, "
        f"CPU/request {result.app_cpu_ms:.1f} ms app + {result.db_cpu_ms:.1f} ms PostgreSQL, "
        f"other processes {result.other_cpu_share:.0%} of the machine"
    )
