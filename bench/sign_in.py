"""The sign-in scenarios: `python -m bench.sign_in`.

1. A fresh PostgreSQL database, migrated, with 30,001 institutions and 2,000 accounts, all
   sharing one argon2id hash made with the portal's configured parameters.
2. gunicorn serving the portal on it.
3. Raw argon2id: as many processes as gunicorn has workers, each verifying the shared hash
   with the portal's own function for a fixed time, the server idle; half before the
   sign-ins, half after, so that both bracket the same stretch of machine load.
4. POST /login with the right password for the active general users of the seed (a 303 to
   我的帳號 each), judged against the raw verifications per second.
5. GET /account as a signed-in person.
6. A Markdown table on stdout and in bench/results/sign_in.md.

The exit status is 0 whether targets pass or fail; non-zero only when the benchmark itself
breaks (bench/harness.py). Database and server are removed in every case.
"""

import multiprocessing
import os
import statistics
import sys
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path

from flask import Flask

from bench import report, scenarios
from bench.cpu import CpuUse, machine_cpu_seconds
from bench.harness import run_benchmark, seeded_database, setup_line, timed
from bench.load import SECONDS, Measurement
from bench.measure import combine, log, measure
from bench.seed import (
    INSTITUTION_COUNT,
    SHARED_PASSWORD,
    active_general_usernames,
    seed_accounts,
)
from bench.server import Server, ServerOptions, gunicorn, server_environment
from portal.security.passwords import needs_rehash, verify_password

ACCOUNTS = int(os.environ.get("BENCH_SIGN_IN_ACCOUNTS", "2000"))
# Roughly half the seed is active general users (bench/seed.py's weights): more than wrk
# signs in during a run at argon2's pace, so few accounts sign in twice in a row.
SIGN_IN_USERS = 1_000
# wrk counts only finished requests, so each connection loses about half a sign-in at the
# end of a round: at ~8 sign-ins/s on 2 connections that is 6 % of a 2 s round, 2.5 % of 5 s.
SIGN_IN_ROUND_SECONDS = 5
RESULTS = Path(__file__).resolve().parent / "results" / "sign_in.md"


def verify_for(password_hash: str, seconds: float, start: Barrier) -> tuple[list[float], float]:
    """In a child process: verify until `seconds` are up; each one's seconds, and CPU used."""
    start.wait()  # every process starts together, so none runs alone on the machine
    cpu_before, began = time.process_time(), time.perf_counter()
    durations: list[float] = []
    while time.perf_counter() - began < seconds:
        before = time.perf_counter()
        # No app context needed: argon2 reads the cost from the hash itself, and check_hash
        # made sure that is the configured one.
        if not verify_password(password_hash, SHARED_PASSWORD):
            raise RuntimeError("the shared hash does not verify")
        durations.append(time.perf_counter() - before)
    # process_time counts all of the process's threads: argon2's lanes run on several.
    return durations, time.process_time() - cpu_before


def raw_round(password_hash: str, processes: int, seconds: float) -> tuple[Measurement, CpuUse]:
    """One round of raw verifications in `processes` processes at once, the server idle."""
    # spawn, not fork: the children inherit no database connections or locks.
    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager, context.Pool(processes) as pool:
        start = manager.Barrier(processes)
        # A first call of no length: the children have imported everything before the clock
        # starts, or their start-up would count as the machine's other load.
        pool.starmap(verify_for, [(password_hash, 0.0, start)] * processes)
        busy_before, total_before = machine_cpu_seconds()
        results = pool.starmap(verify_for, [(password_hash, seconds, start)] * processes)
        busy_after, total_after = machine_cpu_seconds()
    durations = sorted(duration for timings, _cpu in results for duration in timings)
    # Each process's rate over its own time: together, what the machine verifies per second.
    rate = sum(len(timings) / sum(timings) for timings, _cpu in results)
    cpu = sum(cpu for _timings, cpu in results)
    other = max(busy_after - busy_before - cpu, 0.0) / max(total_after - total_before, 1e-9)
    percentiles = statistics.quantiles(durations, n=100, method="inclusive")
    measurement = Measurement(
        requests=len(durations),
        requests_per_second=rate,
        p50_ms=percentiles[49] * 1000,
        p95_ms=percentiles[94] * 1000,
        p99_ms=percentiles[98] * 1000,
        errors=0,
        seconds=len(durations) / rate,
    )
    log(f"raw argon2id, {processes} processes: {rate:.1f} verifications/s")
    return measurement, CpuUse(cpu * 1000 / len(durations), 0.0, other)


def check_hash(app: Flask, password_hash: str) -> None:
    """The seed's hash has today's parameters, so no sign-in rehashes it (extra argon2)."""
    with app.app_context():
        if needs_rehash(password_hash):
            raise RuntimeError("the seed's hash has other argon2 parameters than the server's")


def argon2_parameters(app: Flask) -> str:
    """The configured cost, for the table."""
    config = app.config
    return (
        f"t={config['ARGON2_TIME_COST']}, m={config['ARGON2_MEMORY_COST_KIB'] // 1024} MiB, "
        f"p={config['ARGON2_PARALLELISM']}"
    )


def sign_in_rows(
    server: Server,
    app: Flask,
    hashed: str,
    usernames: list[str],
    options: ServerOptions,
    workdir: Path,
) -> list[report.Row]:
    """Raw argon2id before and after the sign-ins, and the sign-ins judged against it."""
    workers = options.workers  # one argon2 process per worker: the same parallelism
    half = max(1.0, SECONDS / 2)
    before = raw_round(hashed, workers, half)
    sign_ins = scenarios.sign_ins(scenarios.open_login_session(server), usernames, SHARED_PASSWORD)
    # As many clients as workers: each worker always has the next sign-in waiting, the
    # same parallelism as the raw processes, and no queue for latency to include.
    signed = measure(server, sign_ins, workdir, workers, SIGN_IN_ROUND_SECONDS)
    raw = combine([before, raw_round(hashed, workers, half)])
    share = report.share_of(raw, report.SIGN_IN_SHARE_OF_ARGON2, "raw verifications/s")
    return [
        report.judged(
            f"raw argon2id verify ({argon2_parameters(app)}), {workers} processes",
            raw,
            report.reference(),
        ),
        report.judged(f"{sign_ins.name}, {workers} clients", signed, share),
    ]


def account_rows(server: Server, username: str, workdir: Path) -> list[report.Row]:
    """The floor, then 我的帳號 for one signed-in person, at 32 clients and at one."""
    account = scenarios.account_page(scenarios.signed_in_cookie(server, username, SHARED_PASSWORD))
    floor = measure(server, scenarios.floor(), workdir)
    return [
        report.judged(scenarios.floor().name, floor, report.reference()),
        report.judged(
            account.name,
            measure(server, account, workdir),
            # A page a person waits for: its cost beside the floor's (its p95 is reported).
            report.cpu_ratio_at_most(floor, report.WAITED_FOR_CPU_RATIO),
        ),
        # One client: what the page costs without waiting behind 31 others.
        report.judged(
            f"{account.name}, 1 client",
            measure(server, account, workdir, 1),
            report.p95_info(report.AUTHENTICATED_P95_MS),
        ),
    ]


def run(workdir: Path, options: ServerOptions) -> list[report.Row]:
    """Database, seed, server, measurements; everything torn down on the way out."""
    with seeded_database(workdir) as bench:
        app, seed = bench.app, bench.seed
        timed(f"seed {ACCOUNTS:,} accounts", seed_accounts, app, seed, 0, ACCOUNTS)
        check_hash(app, seed.password_hash)
        usernames = active_general_usernames(app, SIGN_IN_USERS)
        log(f"{len(usernames):,} active general users sign in")
        environment = server_environment(bench.url, bench.keys, bench.instance)
        with gunicorn(environment, options, workdir / "gunicorn.log") as server:
            rows = sign_in_rows(server, app, seed.password_hash, usernames, options, workdir)
            return rows + account_rows(server, usernames[0], workdir)


def document(rows: list[report.Row], options: ServerOptions) -> str:
    """The table with what it was measured on and how to read it."""
    lines = [
        "# Sign-in benchmark",
        "",
        setup_line(options, f"{INSTITUTION_COUNT + 1:,} institutions, {ACCOUNTS:,} accounts"),
        "",
        "Raw argon2id: the portal's `verify_password` on the seed's hash in as many processes "
        "as gunicorn has workers, the server idle, half the time before the sign-ins and half "
        "after; req/s is verifications/s of all processes together, p50/p95/p99 those of one "
        "verification, CPU ms/req that of argon2's threads (no database).",
        "Sign-ins: the right password for a different active account each time; every answer "
        "a 303 to /account with a new server-side session and an audit event; as many wrk "
        f"connections as workers, in rounds of {SIGN_IN_ROUND_SECONDS} s (a sign-in takes a "
        "few hundred ms, so the one cut off at the end of a round is a visible share of it).",
        "Rate limiting is OFF (RATELIMIT_ENABLED=false) and no account is locked: this "
        "measures sign-in, not the limiter.",
        "Signed-in page: judged by its CPU per request beside the floor's (measured in the "
        "same run, same server); its p95 is reported, and the one-client line says whether "
        f"a request alone stays under {report.AUTHENTICATED_P95_MS:g} ms.",
    ]
    return report.document(lines, rows)


def main() -> int:
    """Run the benchmark; 0 unless the benchmark itself failed."""
    return run_benchmark(run, document, RESULTS)


if __name__ == "__main__":
    sys.exit(main())
