"""CPU time spent per request by the server's workers and by PostgreSQL.

Latency and throughput on a small shared machine move with whatever else runs on it; CPU
time per request hardly does, so it is the figure to compare between runs and to find where
the time goes (Python or the database). Read from /proc, so Linux only, and PostgreSQL's
share only when the server runs on this machine; otherwise the figures are left out.
"""

import os
import resource
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from bench.database import admin_url

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (0 if it has gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    # After the ")" that ends the command name: state is field 0, utime 11, stime 12.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers)."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            children.append(int(entry.name))
    return children


def database_backends(database: str) -> list[int]:
    """PIDs of the PostgreSQL backends connected to the bench database."""
    engine = sa.create_engine(admin_url())
    try:
        with engine.connect() as connection:
            return list(
                connection.scalars(
                    sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :name"),
                    {"name": database},
                )
            )
    finally:
        engine.dispose()


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores together."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user … steal; guest time is already counted in user
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def finished_children_cpu_seconds() -> float:
    """CPU seconds of this process's finished children: wrk, once it has been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds so far: each worker, each database backend, wrk, the whole machine."""

    workers: dict[int, float]
    backends: dict[int, float]
    load_generator: float
    machine_busy: float
    machine_total: float

    @classmethod
    def take(cls, server_pid: int, database: str) -> "CpuSample":
        """Read the counters now."""
        busy, total = machine_cpu_seconds()
        return cls(
            {pid: process_cpu_seconds(pid) for pid in children_of(server_pid)},
            {pid: process_cpu_seconds(pid) for pid in database_backends(database)},
            finished_children_cpu_seconds(),
            busy,
            total,
        )


@dataclass(frozen=True)
class CpuUse:
    """Where the CPU went between two samples."""

    app_ms_per_request: float
    db_ms_per_request: float
    # Share of the machine used by anything but the server, its database backends and wrk:
    # other people's jobs make latency worse without the portal being any slower.
    other_share: float


def _spent(start: dict[int, float], end: dict[int, float]) -> float:
    # A process that appeared in between started from zero.
    return sum(seconds - start.get(pid, 0.0) for pid, seconds in end.items())


def cpu_use(before: CpuSample, after: CpuSample, requests: int) -> CpuUse:
    """CPU per request of the workers and of PostgreSQL, and the machine's other load."""
    app = _spent(before.workers, after.workers)
    database = _spent(before.backends, after.backends)
    ours = app + database + after.load_generator - before.load_generator
    busy = after.machine_busy - before.machine_busy
    total = max(after.machine_total - before.machine_total, 1e-9)
    requests = max(requests, 1)
    return CpuUse(app * 1000 / requests, database * 1000 / requests, max(busy - ours, 0.0) / total)
