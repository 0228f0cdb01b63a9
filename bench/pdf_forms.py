"""PDF form benchmark: `python -m bench.pdf_forms [--renders N]`.

Renders the 管理者帳號申請、異動表 N times (30 by default) after a warm-up and prints the
median and p95 wall time against the target as a Markdown table; the text is also written
to `bench/results/pdf_forms.md` (gitignored). No database and no server are needed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import traceback
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from portal.printing import ManagerFormData, render_manager_form, split_phone

MEDIAN_TARGET_MS = 250.0
DEFAULT_RENDERS = 30
WARMUP_RENDERS = 3
RESULTS = Path(__file__).resolve().parent / "results" / "pdf_forms.md"


@dataclass(frozen=True)
class Timings:
    """Wall times of one series of renders, in milliseconds."""

    first_ms: float
    samples_ms: list[float]
    cpu_median_ms: float

    @property
    def median_ms(self) -> float:
        """The median render."""
        return statistics.median(self.samples_ms)

    @property
    def p95_ms(self) -> float:
        """The 95th percentile render (nearest rank)."""
        ordered = sorted(self.samples_ms)
        return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def sample_form(number: int) -> ManagerFormData:
    """A realistic kind-A form; the number varies so no render can reuse another's output."""
    area, phone, extension = split_phone("02-12345678#123")
    return ManagerFormData(
        application_no=f"20260315{number:06d}",
        applied_on=date(2026, 3, 15),
        kind="A",
        change=None,
        institution_name="臺北虛擬診所",
        institution_code="3501200000",
        username="taipei.manager",
        applicant_name="王小明",
        national_id_display="A12345****",
        department="家庭醫學科",
        phone_area=area,
        phone_number=phone,
        phone_extension=extension,
        email="manager@clinic.example.tw",
    )


def measure(renders: int) -> Timings:
    """Time a cold first render, a warm-up, then `renders` measured ones."""
    started = time.perf_counter()
    render_manager_form(sample_form(0))
    first_ms = (time.perf_counter() - started) * 1000
    for number in range(1, WARMUP_RENDERS):
        render_manager_form(sample_form(number))
    samples: list[float] = []
    cpu: list[float] = []
    for number in range(renders):
        wall, process = time.perf_counter(), time.process_time()
        render_manager_form(sample_form(WARMUP_RENDERS + number))
        samples.append((time.perf_counter() - wall) * 1000)
        # CPU time too: on a shared 2-core machine it shows how much of the wall time
        # was the render itself and how much was waiting for a core.
        cpu.append((time.process_time() - process) * 1000)
    return Timings(first_ms, samples, statistics.median(cpu))


def document(timings: Timings, renders: int) -> str:
    """The results as a short Markdown document."""
    passed = timings.median_ms < MEDIAN_TARGET_MS
    try:
        load = "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "load average unknown"
    return "\n".join(
        [
            "# PDF forms benchmark",
            "",
            f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {os.cpu_count()} CPU cores; "
            f"{load}; {renders} renders after {WARMUP_RENDERS} warm-up, one thread.",
            "",
            "| form | renders | first (cold) ms | median ms | p95 ms | median CPU ms "
            "| target | result |",
            "|---|---:|---:|---:|---:|---:|---|---|",
            f"| manager_change (kind A) | {renders} | {timings.first_ms:.0f} "
            f"| {timings.median_ms:.1f} | {timings.p95_ms:.1f} | {timings.cpu_median_ms:.1f} "
            f"| median < {MEDIAN_TARGET_MS:g} ms | {'PASS' if passed else 'FAIL'} |",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 0 unless the benchmark itself failed."""
    parser = argparse.ArgumentParser(prog="python -m bench.pdf_forms", description=__doc__)
    parser.add_argument("--renders", type=int, default=DEFAULT_RENDERS, help="measured renders")
    options = parser.parse_args(argv)
    try:
        timings = measure(options.renders)
    except Exception:  # noqa: BLE001 - any failure of the harness is reported the same way
        traceback.print_exc()
        print("[bench] the benchmark itself failed; no results", file=sys.stderr)
        return 1
    text = document(timings, options.renders)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
