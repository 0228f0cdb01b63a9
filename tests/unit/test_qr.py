"""Unit tests for portal.verification.qr: the application number read back from scans."""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from io import BytesIO

import pytest
import segno
from PIL import Image

from portal.printing import render_manager_form
from portal.verification.qr import MAX_JPEG_SCANS, MAX_PIXELS, read_qr_texts
from tests import hostile, scanner
from tests.forms import FORM_A

# A hostile file is refused within seconds; decoded, the worst of them would take minutes
# or gigabytes. A hang guard, not a speed target: bench/qr_match.py measures the speed.
refused_in_seconds = pytest.mark.timeout(20)


@pytest.fixture(scope="module")
def printed() -> bytes:
    """The form as the portal prints it."""
    return render_manager_form(FORM_A)


@pytest.fixture(scope="module")
def scanned(printed: bytes) -> Image.Image:
    """The printout stamped and scanned at 300 dpi, 1.5° askew."""
    return scanner.scan(printed)


@pytest.mark.parametrize(
    ("save", "content_type"),
    [
        (scanner.jpeg, "image/jpeg"),
        (scanner.png, "image/png"),
        (scanner.image_pdf, "application/pdf"),
    ],
    ids=["jpeg", "png", "pdf"],
)
def test_a_stamped_scan_gives_the_application_number(
    scanned: Image.Image, save: Callable[[Image.Image], bytes], content_type: str
) -> None:
    assert read_qr_texts(save(scanned), content_type) == [FORM_A.application_no]


def test_the_printed_pdf_gives_the_application_number(printed: bytes) -> None:
    assert read_qr_texts(printed, "application/pdf") == [FORM_A.application_no]


def test_a_200_dpi_scan_turned_the_other_way_gives_the_application_number(
    printed: bytes,
) -> None:
    # An office scanner's default resolution, the sheet put on the glass upside down.
    page = scanner.scan(printed, dpi=200, skew_degrees=-2).rotate(180)
    assert read_qr_texts(scanner.jpeg(page, quality=60), "image/jpeg") == [FORM_A.application_no]


def test_a_cover_page_before_the_form_is_skipped(scanned: Image.Image) -> None:
    pdf = scanner.image_pdf(scanner.blank_page(), scanned)
    assert read_qr_texts(pdf, "application/pdf") == [FORM_A.application_no]


def test_only_the_first_two_pages_are_read(scanned: Image.Image) -> None:
    blank = scanner.blank_page()
    assert read_qr_texts(scanner.image_pdf(blank, blank, scanned), "application/pdf") == []


def test_reads_on_several_threads_keep_their_own_codes() -> None:
    numbers = [f"2026031500010{i}" for i in range(4)]
    pdfs = [render_manager_form(replace(FORM_A, application_no=number)) for number in numbers]
    with ThreadPoolExecutor(max_workers=4) as pool:
        texts = list(pool.map(read_qr_texts, pdfs, ["application/pdf"] * len(pdfs)))
    assert texts == [[number] for number in numbers]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (lambda: scanner.png(scanner.blank_page()), "image/png"),
        (lambda: scanner.jpeg(scanner.blank_page()), "image/jpeg"),
        (lambda: scanner.image_pdf(scanner.blank_page()), "application/pdf"),
        (lambda: scanner.png(scanner.noise_page()), "image/png"),
        (lambda: scanner.jpeg(scanner.noise_page()), "image/jpeg"),
    ],
    ids=["blank-png", "blank-jpeg", "blank-pdf", "noise-png", "noise-jpeg"],
)
def test_a_page_without_a_code_gives_nothing(data: Callable[[], bytes], content_type: str) -> None:
    assert read_qr_texts(data(), content_type) == []


@refused_in_seconds
@pytest.mark.parametrize("content_type", ["application/pdf", "image/jpeg", "image/png"])
def test_no_bytes_give_nothing(content_type: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert read_qr_texts(b"", content_type) == []
    assert "no QR code read" in caplog.text


@refused_in_seconds
def test_a_truncated_pdf_gives_nothing(scanned: Image.Image, printed: bytes) -> None:
    for pdf in (scanner.image_pdf(scanned), printed):
        assert read_qr_texts(pdf[: len(pdf) // 3], "application/pdf") == []


def test_a_file_that_is_not_what_it_claims_gives_nothing(printed: bytes) -> None:
    assert read_qr_texts(printed, "image/png") == []
    assert read_qr_texts(printed, "text/html") == []


@refused_in_seconds
@pytest.mark.parametrize(
    ("width", "height"),
    [(100_000, 100_000), (8_000, 8_000)],
    ids=["10-gigapixel", "over-the-cap"],
)
def test_a_png_declaring_too_many_pixels_is_not_decoded(width: int, height: int) -> None:
    assert read_qr_texts(hostile.png_declaring(width, height), "image/png") == []


@refused_in_seconds
def test_the_pixel_cap_holds_even_for_a_readable_image(caplog: pytest.LogCaptureFixture) -> None:
    # A code the reader would find, on a bilevel page one row beyond the cap: refused by
    # its declared size, so never decoded.
    width = 6_000
    page = Image.new("1", (width, MAX_PIXELS // width + 1), 1)
    code = BytesIO()
    segno.make_qr(FORM_A.application_no, error="m").save(code, kind="png", scale=12)
    page.paste(Image.open(code), (200, 200))
    with caplog.at_level(logging.WARNING):
        assert read_qr_texts(scanner.png(page), "image/png") == []
    assert "declares" in caplog.text
    readable = page.crop((0, 0, width, MAX_PIXELS // width))
    assert read_qr_texts(scanner.png(readable), "image/png") == [FORM_A.application_no]


@refused_in_seconds
def test_a_jpeg_declaring_too_many_pixels_is_not_decoded(scanned: Image.Image) -> None:
    data = scanner.jpeg(scanned.resize((400, 566)))
    frame = data.index(b"\xff\xc0") + 5  # after the marker, the length and the precision
    huge = data[:frame] + struct.pack(">HH", 65_000, 65_000) + data[frame + 4 :]
    assert read_qr_texts(huge, "image/jpeg") == []


@refused_in_seconds
def test_a_jpeg_of_a_thousand_scans_is_not_decoded(caplog: pytest.LogCaptureFixture) -> None:
    # Each empty scan is 23 bytes but makes libjpeg walk the whole image again: about a
    # millisecond each here, so a 10 MB file would take minutes.
    buffer = BytesIO()
    scanner.blank_page().save(buffer, "JPEG", progressive=True)
    data = buffer.getvalue()
    last_scan = data[data.rindex(b"\xff\xda") : -2]
    many = data[:-2] + last_scan * 1_000 + b"\xff\xd9"
    with caplog.at_level(logging.WARNING):
        assert read_qr_texts(many, "image/jpeg") == []
    assert f"more than {MAX_JPEG_SCANS} scans" in caplog.text


@refused_in_seconds
def test_a_pdf_whose_image_inflates_to_gigabytes_is_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 2 MB of compressed zeros inflate to 2 GB: pdftoppm is stopped by its CPU limit.
    inflating = hostile.pdf_with_inflating_image(megabytes=2_000)
    with caplog.at_level(logging.WARNING):
        assert read_qr_texts(inflating, "application/pdf") == []
    assert "pdftoppm exited" in caplog.text
