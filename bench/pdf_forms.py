"""PDF form benchmark: `python -m bench.pdf_forms [--renders N]`.

Renders the 管理者帳號申請、異動表 N times (30 by default) after a warm-up and prints the
median and p95 wall time against the target as a Markdown table; the text is also written
to `bench/results/pdf_forms.md` (gitignored). No database and no server are needed.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path

from bench.timings import Timings, time_calls
from portal.printing import ManagerFormData, render_manager_form
from tests.forms import FORM_A

MEDIAN_TARGET_MS = 250.0
# The same target beside the in-process floor (bench/floor.py), as `make bench` judges it:
# 250 ms was set where the in-process floor cost about 0.6 ms of CPU.
CPU_RATIO = 400.0
DEFAULT_RENDERS = 30
WARMUP_RENDERS = 3
RESULTS = Path(__file__).resolve().parent / "results" / "pdf_forms.md"


def sample_form(number: int) -> ManagerFormData:
    """A realistic kind-A form; the number varies so no render can reuse another's output."""
    return replace(FORM_A, application_no=f"20260315{number:06d}")


def time_renders(renders: int = DEFAULT_RENDERS) -> Timings:
    """Time a cold first render, a warm-up, then `renders` measured ones (bench.review too)."""
    # The cold first render counts among the warm-up renders.
    return time_calls(_render_call, renders, WARMUP_RENDERS - 1)


def _render_call(number: int) -> Callable[[], object]:
    """The number-th render, its form data built before the clock starts."""
    return partial(render_manager_form, sample_form(number))


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
        timings = time_renders(options.renders)
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
