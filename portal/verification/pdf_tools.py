"""Drawing uploaded PDFs with poppler's pdftoppm — the only module that runs it.

Every uploaded PDF is hostile until drawn: a few kilobytes can ask for minutes of CPU (a
PostScript function evaluated for every pixel) or gigabytes of memory (an image that
inflates a thousandfold). pdftoppm therefore runs in a child process under CPU, memory,
file-size and wall-time limits, reads the PDF from stdin and writes its pictures to stdout.
"""

import subprocess
from typing import Final

# Drawing a 600-dpi colour scan takes pdftoppm about 0.35 s of CPU and 40 MB; a 2 MB PDF
# whose image inflates to gigabytes would take minutes.
CPU_SECONDS: Final = 2
MEMORY_BYTES: Final = 512 * 1024 * 1024
# Wall time, for a machine so busy that the CPU limit comes late.
TIMEOUT_SECONDS: Final = 10


class PdfNotDrawn(Exception):
    """pdftoppm could not draw the pages: damaged, too costly, or not a PDF at all."""


def pdftoppm(pdf: bytes, *options: str) -> bytes:
    """What pdftoppm writes to stdout for the PDF with these options, within the limits.

    The caller bounds the picture with `-scale-to` (pixels, whatever size a page claims)
    and the pages with `-f`/`-l`. PdfNotDrawn when pdftoppm fails, is stopped by a limit,
    or draws nothing.
    """
    # prlimit rather than preexec_fn: the portal runs requests on threads, where preexec_fn
    # may deadlock. fsize=0 forbids writing files (stdout and stderr are pipes).
    command = [
        "prlimit",
        f"--cpu={CPU_SECONDS}",
        f"--as={MEMORY_BYTES}",
        "--fsize=0",
        "--core=0",
        "--",
        "pdftoppm",
        *options,
        "-",
    ]
    try:
        drawn = subprocess.run(
            command, input=pdf, capture_output=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired as timeout:
        raise PdfNotDrawn(f"pdftoppm ran past {TIMEOUT_SECONDS} s") from timeout
    if drawn.returncode != 0 or not drawn.stdout:
        reason = drawn.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no page"]
        raise PdfNotDrawn(f"pdftoppm exited with {drawn.returncode}: {reason[0]}")
    return drawn.stdout
