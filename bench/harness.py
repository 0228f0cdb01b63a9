"""What every benchmark's `main` does around its own run.

The run happens in a scratch folder; a SIGTERM (make interrupted, CI timeout) unwinds like
an exception, so servers are stopped and databases dropped on the way out. The exit status
is 0 whether targets pass or fail (the table says FAIL); it is non-zero only when the
benchmark itself breaks.
"""

import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path

from bench.measure import log
from bench.report import Row
from bench.server import ServerOptions

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
