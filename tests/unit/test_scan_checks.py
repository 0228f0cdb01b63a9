"""What a scan would cost to draw, read from its structure: checks on hostile PDFs and images."""

from __future__ import annotations

import base64
import time
import zlib
from io import BytesIO

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name
from PIL import Image

from portal.verification.scan_checks import ScanLimits, ScanRefused, check_scan
from tests import hostile, scanner

MIB = 1024 * 1024
LIMITS = ScanLimits(
    pdf_pages=5, pdf_page_mm=450, pdf_decoded_bytes=200 * MIB, image_pixels=40_000_000
)
PDF = "application/pdf"


def refusal(data: bytes, content_type: str = PDF, limits: ScanLimits = LIMITS) -> str | None:
    """The message a refused scan gets; None when it is accepted."""
    try:
        check_scan(data, content_type, limits)
    except ScanRefused as refused:
        return str(refused.message)
    return None


def within(decoded_mib: int) -> ScanLimits:
    return ScanLimits(5, 450, decoded_mib * MIB, 40_000_000)


def one_page(contents: pikepdf.Stream | None = None, **page_entries) -> pikepdf.Pdf:
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=hostile.A4_POINTS)
    for key, value in page_entries.items():
        pdf.pages[0].obj[Name("/" + key)] = value
    return pdf


def saved(pdf: pikepdf.Pdf) -> bytes:
    buffer = BytesIO()
    pdf.save(buffer, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return buffer.getvalue()


def with_contents(raw: bytes, filters: list[str]) -> bytes:
    """One page whose content stream is `raw`, encoded by `filters` (first applied last)."""
    pdf = one_page()
    stream = pikepdf.Stream(pdf, raw)
    stream[Name.Filter] = Array([Name(name) for name in filters])
    pdf.pages[0].obj[Name.Contents] = stream
    return saved(pdf)


def test_sound_scans_pass() -> None:
    page = scanner.scan(hostile.pdf_of_pages(1), dpi=150)
    assert refusal(scanner.image_pdf(page, page, page)) is None
    assert refusal(scanner.jpeg(page), "image/jpeg") is None
    assert refusal(scanner.png(page), "image/png") is None


def test_a_stream_inflating_past_the_limit_is_refused_quickly() -> None:
    data = hostile.pdf_inflating_to(300)
    started = time.process_time()
    assert "解壓縮後超過 200 MB" in refusal(data)
    # Counting stops at the limit, a megabyte at a time: about half a second of CPU.
    assert time.process_time() - started < 5
    assert refusal(hostile.pdf_inflating_to(20), limits=within(21)) is None
    assert "解壓縮後超過 19 MB" in refusal(hostile.pdf_inflating_to(20), limits=within(19))


@pytest.mark.parametrize(
    ("encode", "filters"),
    [
        (lambda data: base64.a85encode(zlib.compress(data)) + b"~>", ["/A85", "/FlateDecode"]),
        (lambda data: zlib.compress(data).hex().encode() + b">", ["/ASCIIHexDecode", "/Fl"]),
        (lambda data: zlib.compress(zlib.compress(data)), ["/FlateDecode", "/FlateDecode"]),
    ],
    ids=["base85-then-deflate", "hex-then-deflate", "deflate-twice"],
)
def test_chained_filters_are_decoded_a_chunk_at_a_time(encode, filters) -> None:
    data = with_contents(encode(b"0 0 m 10 10 l S\n" * (MIB // 4)), filters)  # 4 MiB decoded
    assert refusal(data, limits=within(5)) is None
    assert "解壓縮後超過 3 MB" in refusal(data, limits=within(3))


def test_a_filter_not_decoded_here_counts_at_its_worst() -> None:
    # 2,000 bytes of LZW could stand for about 5 MB; they are counted so.
    data = with_contents(b"\x80" * 2_000, ["/LZWDecode"])
    assert refusal(data, limits=within(6)) is None
    assert "解壓縮後超過 4 MB" in refusal(data, limits=within(4))


def test_an_image_counts_at_the_size_it_declares_without_being_inflated() -> None:
    data = hostile.pdf_with_inflating_image(megabytes=2, side=3_000)  # 9 MB of grey pixels
    assert refusal(data, limits=within(10)) is None
    assert "解壓縮後超過 8 MB" in refusal(data, limits=within(8))


def test_a_jpeg_larger_than_its_dictionary_says_counts_at_its_own_size() -> None:
    pdf = one_page()
    image = Image.new("L", (4_000, 4_000), 255)
    buffer = BytesIO()
    image.save(buffer, "JPEG")
    stream = pikepdf.Stream(pdf, buffer.getvalue())
    stream.stream_dict = Dictionary(
        Type=Name.XObject,
        Subtype=Name.Image,
        Width=10,
        Height=10,
        ColorSpace=Name.DeviceGray,
        BitsPerComponent=8,
        Filter=Name.DCTDecode,
    )
    pdf.pages[0].obj[Name.Resources] = Dictionary(XObject=Dictionary(Im=stream))
    # 16 million pixels, counted as four bytes each: 64 MB.
    assert "解壓縮後超過 50 MB" in refusal(saved(pdf), limits=within(50))
    assert refusal(saved(pdf), limits=within(70)) is None


def test_a_page_size_inherited_from_the_page_tree_counts() -> None:
    pdf = one_page()
    del pdf.pages[0].obj[Name.MediaBox]
    pdf.Root.Pages[Name.MediaBox] = Array([0, 0, 595, 20_000])
    assert "第 1 頁大小為 209 × 7055 公釐" in refusal(saved(pdf))


def test_a_user_unit_below_one_counts_as_one() -> None:
    assert refusal(hostile.pdf_with_user_unit(0.01, (1_300, 1_300))) is not None  # 459 mm
    assert refusal(hostile.pdf_with_user_unit(0.5)) is None


def test_a_pdf_without_pages_is_refused() -> None:
    assert "沒有任何頁面" in refusal(saved(pikepdf.new()))


def test_an_object_stream_inflating_to_hundreds_of_megabytes_is_not_inflated() -> None:
    assert refusal(hostile.pdf_with_inflating_object_stream(4)) is None
    started = time.process_time()
    assert "無法讀取這個 PDF 檔" in refusal(hostile.pdf_with_inflating_object_stream(600))
    assert time.process_time() - started < 5


def test_an_image_is_measured_from_its_header() -> None:
    assert refusal(hostile.png_declaring(8_000, 5_000), "image/png") is None
    assert "超過 40 百萬像素" in refusal(hostile.png_declaring(8_000, 5_001), "image/png")
    huge = scanner.jpeg(Image.new("L", (64, 64)))
    frame = huge.index(b"\xff\xc0") + 5  # the baseline frame's height and width
    huge = huge[:frame] + (60_000).to_bytes(2, "big") * 2 + huge[frame + 4 :]
    assert "超過 40 百萬像素" in refusal(huge, "image/jpeg")
    assert "無法讀取這個圖檔" in refusal(b"\xff\xd8\xff" + bytes(32), "image/jpeg")
