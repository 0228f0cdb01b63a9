"""The help desk's picture of a scan's first page: drawn once, within limits, and kept.

A PDF is drawn by pdftoppm (pdf_tools: CPU, memory and wall-time limits) to PNG_LONG_SIDE
pixels whatever size its page claims; the PNG is kept beside the scan. A PDF that cannot be
drawn leaves a mark there instead, so the next visit knows at once and the page says
"無法預覽" rather than drawing it again. A JPEG or PNG scan is its own preview.
"""

import logging
import os
import secrets
from pathlib import Path
from typing import Final

from portal.verification import pdf_tools
from portal.verification.models import PaperScan
from portal.verification.scans import scan_path

log = logging.getLogger(__name__)

# The long side of a PDF's preview in pixels: an A4 page at about 140 dpi, enough to read a
# seal on screen, a few hundred kilobytes.
PNG_LONG_SIDE: Final = 1600
PREVIEW_SUFFIX: Final = ".preview.png"
FAILED_SUFFIX: Final = ".preview.failed"


def preview_file(scan: PaperScan) -> Path | None:
    """The scan's preview, drawn now if need be; None when the scan cannot be drawn."""
    source = scan_path(scan)
    if scan.content_type != "application/pdf":
        return source
    target = source.with_suffix(PREVIEW_SUFFIX)
    if target.exists():
        return target
    if preview_failed(scan):
        return None
    try:
        png = pdf_tools.pdftoppm(
            source.read_bytes(),
            "-png",
            "-singlefile",
            "-scale-to",
            str(PNG_LONG_SIDE),
            "-f",
            "1",
            "-l",
            "1",
        )
    except pdf_tools.PdfNotDrawn as failure:
        log.warning("no preview of scan %s (%s): %s", scan.id, scan.stored_name, failure)
        _write_once(source.with_suffix(FAILED_SUFFIX), str(failure).encode())
        return None
    _write_once(target, png)
    return target


def preview_failed(scan: PaperScan) -> bool:
    """Whether the scan was found before to be one that cannot be drawn."""
    return scan_path(scan).with_suffix(FAILED_SUFFIX).exists()


def _write_once(path: Path, data: bytes) -> None:
    """Write the file whole under a temporary name, then rename it: readers never see half.

    Two help-desk visits drawing the same preview at once each rename their own copy.
    """
    partial = path.with_name(f"{path.name}.{secrets.token_hex(4)}.partial")
    try:
        partial.write_bytes(data)
        partial.chmod(0o600)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
