"""Timing an action repeated in-process: wall and CPU time of each call, no server, no wrk.

Used where the thing measured is a function rather than a request (rendering a PDF form,
checking a card's answer). Each call is set up untimed, so only the action itself counts.
The figures come out in the shape of a wrk measurement, for the same Markdown table.
"""

import resource
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.cpu import machine_cpu_seconds, process_cpu_seconds
from bench.load import Measurement

# Builds the index-th call, untimed; the callable it returns is what gets timed.
Prepare = Callable[[int], Callable[[], object]]


@dataclass(frozen=True)
class Timings:
    """Wall and CPU times of one series of calls, in milliseconds."""

    first_ms: float
    samples_ms: list[float]
    cpu_samples_ms: list[float]
    # CPU of the PostgreSQL backend serving this process, when there is one.
    db_cpu_ms: float | None = None
    other_cpu_share: float | None = None

    @property
    def median_ms(self) -> float:
        """The median call."""
        return statistics.median(self.samples_ms)

    @property
    def p95_ms(self) -> float:
        """The 95th percentile call."""
        return self.percentile(0.95)

    @property
    def cpu_median_ms(self) -> float:
        """The median CPU time per call of this process and of the children it ran."""
        return statistics.median(self.cpu_samples_ms)

    def percentile(self, share: float) -> float:
        """The call at `share` of the sorted series (nearest rank)."""
        ordered = sorted(self.samples_ms)
        return ordered[max(0, round(share * len(ordered)) - 1)]

    def measurement(self) -> Measurement:
        """The series as a table row's figures: one call counts as one request."""
        seconds = sum(self.samples_ms) / 1000
        return Measurement(
            requests=len(self.samples_ms),
            requests_per_second=len(self.samples_ms) / seconds,
            p50_ms=self.median_ms,
            p95_ms=self.p95_ms,
            p99_ms=self.percentile(0.99),
            errors=0,
            seconds=seconds,
            app_cpu_ms=statistics.fmean(self.cpu_samples_ms),
            # No backend watched: the calls did no database work (PDF renders).
            db_cpu_ms=self.db_cpu_ms if self.db_cpu_ms is not None else 0.0,
            other_cpu_share=self.other_cpu_share,
        )


def time_calls(prepare: Prepare, count: int, warmup: int, backend_pid: int = 0) -> Timings:
    """Time a cold first call, `warmup` more unrecorded, then `count` measured ones.

    With `backend_pid`, that PostgreSQL backend's CPU time per measured call is read too.
    """
    first_ms, _cpu = _time_one(prepare(0))
    for index in range(1, warmup + 1):
        prepare(index)()
    busy_before, total_before = machine_cpu_seconds()
    own_before = _own_cpu_seconds()
    backend_start = process_cpu_seconds(backend_pid) if backend_pid else 0.0
    samples: list[float] = []
    cpu: list[float] = []
    db_seconds = 0.0
    for index in range(warmup + 1, warmup + 1 + count):
        action = prepare(index)
        backend_before = process_cpu_seconds(backend_pid) if backend_pid else 0.0
        wall_ms, cpu_ms = _time_one(action)
        if backend_pid:
            db_seconds += process_cpu_seconds(backend_pid) - backend_before
        samples.append(wall_ms)
        # CPU time too: on a shared 2-core machine it shows how much of the wall time
        # was the work itself and how much was waiting for a core.
        cpu.append(cpu_ms)
    busy_after, total_after = machine_cpu_seconds()
    # The set-up of each call is ours too, in this process and in its backend.
    backend_spent = process_cpu_seconds(backend_pid) - backend_start if backend_pid else 0.0
    ours = _own_cpu_seconds() - own_before + backend_spent
    other = max(busy_after - busy_before - ours, 0.0) / max(total_after - total_before, 1e-9)
    db_cpu_ms = db_seconds * 1000 / count if backend_pid else None
    return Timings(first_ms, samples, cpu, db_cpu_ms, other)


def _time_one(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU milliseconds of one call."""
    wall, process = time.perf_counter(), _own_cpu_seconds()
    action()
    return (time.perf_counter() - wall) * 1000, (_own_cpu_seconds() - process) * 1000


def _own_cpu_seconds() -> float:
    """CPU seconds of this process, all its threads, and of the children it has waited for.

    A call that runs a tool (pdftoppm drawing a scan) does that work in a child: it is the
    call's CPU, not other load on the machine.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime
