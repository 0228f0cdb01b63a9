"""Reading the QR code of an uploaded scan — the only module of the project that imports zxing-cpp.

The printed form carries its application number as a QR code (24 mm with its quiet zone,
about 0.8 mm a module), so a stamped scan can be matched to its application without typing.
Every upload is hostile until read: nothing here raises on what a file contains, and the
work that a file could make expensive is bounded before it starts.

PDF pages are drawn by poppler's pdftoppm in a child process under CPU, memory and wall-time
limits (pdf_tools); images are decoded by Pillow after their declared size is checked.
Pillow's decoders and zxing-cpp release the GIL while they work, so a read does not stall
the other threads of a gthread worker.
"""

import logging
import re
from collections.abc import Iterator
from io import BytesIO
from typing import Final

import zxingcpp
from PIL import Image

from portal.verification import pdf_tools

log = logging.getLogger(__name__)

# The page's long side in pixels for each attempt: an A4 page at 150 dpi (about 5 pixels a
# module, which reads a clean print), then at 300 dpi for a blurred or smudged one.
READING_SIDES: Final = (1754, 3508)
# A4 at 600 dpi is 35 million pixels; more than this is no scan of the form.
MAX_PIXELS: Final = 40_000_000
# A progressive JPEG has about ten scans; thousands of them cost minutes of CPU to decode.
MAX_JPEG_SCANS: Final = 100
JPEG_START_OF_SCAN: Final = b"\xff\xda"
# The form is one page; a scanner may put a cover or a blank back page around it.
PDF_PAGES: Final = 2
PDF: Final = "application/pdf"
IMAGE_FORMATS: Final = {"image/jpeg": "JPEG", "image/png": "PNG"}
# What pdftoppm -gray writes to stdout for each page: binary PGM, 8 bits a pixel.
_PGM_HEADER: Final = re.compile(rb"P5\s(\d{1,6})\s(\d{1,6})\s255\s")


class UnreadableScan(Exception):
    """The file cannot be drawn as pages (damaged, too large, or not what it claims)."""


def read_qr_texts(data: bytes, content_type: str) -> list[str]:
    """The texts of the QR codes on the scan's first page or two; [] when none can be read."""
    try:
        for pages in _attempts(data, content_type):
            texts = _qr_texts(pages)
            if texts:
                return texts
    except Exception as error:  # noqa: BLE001 - an upload must never break the request
        log.warning(
            "no QR code read from a %s scan of %d bytes: %s: %s",
            content_type,
            len(data),
            type(error).__name__,
            error,
        )
    return []


def _attempts(data: bytes, content_type: str) -> Iterator[list[Image.Image]]:
    """The scan's pages, drawn at each reading size in turn."""
    if content_type == PDF:
        for side in READING_SIDES:
            yield _pdf_pages(data, side)
    elif content_type in IMAGE_FORMATS:
        for side in READING_SIDES:
            image, reduced = _image(data, IMAGE_FORMATS[content_type], side)
            yield [image]
            if not reduced:
                return  # already read at the scan's own resolution
    else:
        raise UnreadableScan(f"not a PDF, JPEG or PNG: {content_type!r}")


def _qr_texts(pages: list[Image.Image]) -> list[str]:
    """The QR codes' texts on the pages, in page order, each once."""
    texts: list[str] = []
    for page in pages:
        for barcode in zxingcpp.read_barcodes(
            page, formats=zxingcpp.BarcodeFormat.QRCode, text_mode=zxingcpp.TextMode.Plain
        ):
            if barcode.text not in texts:
                texts.append(barcode.text)
    return texts


def _pdf_pages(data: bytes, side: int) -> list[Image.Image]:
    """The first pages drawn in grey, the long side `side` pixels whatever the page's size."""
    # -scale-to bounds the bitmap even when a page claims to be a mile wide.
    drawn = pdf_tools.pdftoppm(
        data, "-gray", "-scale-to", str(side), "-f", "1", "-l", str(PDF_PAGES)
    )
    return _pgm_pages(drawn)


def _pgm_pages(stream: bytes) -> list[Image.Image]:
    """The pages of pdftoppm's output: binary PGM images one after the other."""
    pages = []
    view = memoryview(stream)
    offset = 0
    while offset < len(stream):
        header = _PGM_HEADER.match(stream, offset)
        if header is None:
            raise UnreadableScan(f"pdftoppm wrote no PGM header at byte {offset}")
        size = int(header[1]), int(header[2])
        offset = header.end() + size[0] * size[1]
        if offset > len(stream):
            raise UnreadableScan("pdftoppm's output ends inside a page")
        pages.append(Image.frombytes("L", size, view[header.end() : offset]))
    return pages


def _image(data: bytes, image_format: str, side: int) -> tuple[Image.Image, bool]:
    """The image in grey with its long side near `side` pixels; whether it was reduced.

    Never reduced below `side`, and never enlarged.
    """
    image = Image.open(BytesIO(data), formats=[image_format])
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise UnreadableScan(f"the image declares {width} × {height} pixels")
    if image_format == "JPEG" and data.count(JPEG_START_OF_SCAN) > MAX_JPEG_SCANS:
        raise UnreadableScan(f"the JPEG has more than {MAX_JPEG_SCANS} scans")
    factor = max(width, height) // side
    if factor > 1:
        # A JPEG is then decoded at 1/2, 1/4 or 1/8 of its size by libjpeg itself, never
        # below the size asked for: quicker than decoding it whole and reducing it after.
        image.draft("L", (width // factor, height // factor))
    grey = image.convert("L")
    factor = max(grey.size) // side
    if factor > 1:
        grey = grey.reduce(factor)
    return grey, grey.size != (width, height)
