"""What an uploaded scan would cost to draw, read before anything draws it.

The only module of the portal that imports pikepdf. A scan may be at most UPLOAD_MAX_BYTES,
but a few megabytes of PDF can inflate to gigabytes, claim pages a kilometre wide or hold
hundreds of pages; a small PNG can declare a billion pixels. Such a file would tie up
whoever draws it (the QR reader, the help desk's preview), so it is refused at upload with
a message that says why.

Nothing here decodes a file whole: a PDF's structure is read by qpdf, its streams are
inflated a chunk at a time and counted (images by the size they declare), and an image's
size comes from its header.
"""

import zlib
from base64 import a85decode
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from io import BytesIO
from math import ceil, prod
from typing import Final

import pikepdf
from PIL import Image

from portal.i18n import lazy_gettext as _l

MM_PER_POINT: Final = 25.4 / 72
CHUNK: Final = 64 * 1024
# The most one zlib call may write: inflating stays within a megabyte or so of memory.
INFLATE_STEP: Final = 1024 * 1024
# qpdf decodes by itself only what holds the file's own objects (object streams, cross-
# reference streams), a few kilobytes in a scan; more than this is an attack on the reader.
QPDF_DECODE_LIMIT: Final = 8 * 1024 * 1024
# Filters decoded here a chunk at a time are measured; after any other, the rest is counted
# at the most each filter can give for a byte it reads (deflate about 1,032; run-length: 2
# bytes give 128; LZW's 12-bit codes stand for at most about 3,840 bytes each).
WORST_EXPANSION: Final = {
    "/FlateDecode": 1_032,
    "/ASCII85Decode": 4,
    "/ASCIIHexDecode": 1,
    "/RunLengthDecode": 64,
    "/Crypt": 1,
}
UNKNOWN_EXPANSION: Final = 2_560
FILTER_ABBREVIATIONS: Final = {
    "/Fl": "/FlateDecode",
    "/AHx": "/ASCIIHexDecode",
    "/A85": "/ASCII85Decode",
    "/LZW": "/LZWDecode",
    "/RL": "/RunLengthDecode",
    "/CCF": "/CCITTFaxDecode",
    "/DCT": "/DCTDecode",
}
COLOUR_COMPONENTS: Final = {
    "/DeviceGray": 1,
    "/CalGray": 1,
    "/G": 1,
    "/Indexed": 1,
    "/I": 1,
    "/Separation": 1,
    "/DeviceRGB": 3,
    "/CalRGB": 3,
    "/RGB": 3,
    "/Lab": 3,
    "/DeviceCMYK": 4,
    "/CMYK": 4,
}
# An image whose colour space is not said (JPEG 2000) or not known is counted as CMYK.
MOST_COMPONENTS: Final = 4
# The coded image's own header, where its pixels are counted too.
CODED_IMAGE_FORMATS: Final = {"/DCTDecode": "JPEG", "/JPXDecode": "JPEG2000"}
IMAGE_FORMATS: Final = {"image/jpeg": "JPEG", "image/png": "PNG"}
WHITESPACE: Final = b" \t\r\n\f\x00"
MEGA: Final = 1_000_000

# Process-wide: nothing else in the portal uses pikepdf.
pikepdf.settings.set_qpdf_limits(
    flate_max_memory=QPDF_DECODE_LIMIT,
    run_length_max_memory=QPDF_DECODE_LIMIT,
    png_max_memory=QPDF_DECODE_LIMIT,
    tiff_max_memory=QPDF_DECODE_LIMIT,
)


@dataclass(frozen=True)
class ScanLimits:
    """How much a scan may ask of whoever draws it."""

    pdf_pages: int
    pdf_page_mm: int  # the longer side of any page, UserUnit included
    pdf_decoded_bytes: int  # every stream of the PDF decoded, images at their declared size
    image_pixels: int  # a JPEG's or PNG's width × height

    @classmethod
    def from_config(cls, config) -> "ScanLimits":
        """The limits the UPLOAD_MAX_… settings give."""
        return cls(
            pdf_pages=config["UPLOAD_MAX_PDF_PAGES"],
            pdf_page_mm=config["UPLOAD_MAX_PDF_PAGE_MM"],
            pdf_decoded_bytes=config["UPLOAD_MAX_PDF_DECODED_BYTES"],
            image_pixels=config["UPLOAD_MAX_IMAGE_PIXELS"],
        )


class ScanRefused(Exception):
    """The scan would cost too much to draw, or cannot be read; `message` says which."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


def check_scan(data: bytes, content_type: str, limits: ScanLimits) -> None:
    """Refuse (ScanRefused) a PDF or image that is unreadable or beyond the limits."""
    if content_type == "application/pdf":
        _check_pdf(data, limits)
    else:
        _check_image(data, IMAGE_FORMATS[content_type], limits)


def _check_pdf(data: bytes, limits: ScanLimits) -> None:
    try:
        with pikepdf.open(BytesIO(data)) as pdf:
            _check_pages(pdf, limits)
            _check_decoded_size(pdf, limits.pdf_decoded_bytes)
    except pikepdf.PasswordError as error:
        raise ScanRefused(_l("這個 PDF 檔設有密碼，請上傳沒有加密的掃描檔。")) from error
    except (pikepdf.PdfError, TypeError, ValueError) as error:
        # Damaged beyond what qpdf repairs, a page box that is not four numbers, an object
        # stream inflating past QPDF_DECODE_LIMIT: nothing a scanner writes.
        raise ScanRefused(_l("無法讀取這個 PDF 檔（可能已損壞），請重新掃描後再上傳。")) from error


def _check_pages(pdf: pikepdf.Pdf, limits: ScanLimits) -> None:
    count = len(pdf.pages)
    if count == 0:
        raise ScanRefused(_l("這個 PDF 檔沒有任何頁面，請重新掃描後再上傳。"))
    if count > limits.pdf_pages:
        raise ScanRefused(
            _l(
                "這個 PDF 檔有 %(pages)d 頁，超過 %(limit)d 頁的上限。"
                "請只掃描用印後的申請表再上傳。",
                pages=count,
                limit=limits.pdf_pages,
            )
        )
    for number, page in enumerate(pdf.pages, start=1):
        box = pikepdf.Rectangle(page.mediabox)  # inherited from the page tree if need be
        # A page's UserUnit multiplies its size (PDF 1.6); readers treat less than 1 as 1.
        unit = max(float(page.obj.get("/UserUnit", 1)), 1.0)
        width, height = (abs(side) * unit * MM_PER_POINT for side in (box.width, box.height))
        if max(width, height) > limits.pdf_page_mm:
            raise ScanRefused(
                _l(
                    "這個 PDF 檔第 %(page)d 頁大小為 %(width)d × %(height)d 公釐，"
                    "超過最長邊 %(limit)d 公釐的上限（A4 為 210 × 297 公釐）。"
                    "請以 A4 紙張大小掃描後再上傳。",
                    page=number,
                    width=min(width, 10**9),
                    height=min(height, 10**9),
                    limit=limits.pdf_page_mm,
                )
            )


def _check_decoded_size(pdf: pikepdf.Pdf, limit: int) -> None:
    total = 0
    for item in pdf.objects:
        if isinstance(item, pikepdf.Stream):
            total += _decoded_size(item, limit - total)
            if total > limit:
                raise ScanRefused(
                    _l(
                        "這個 PDF 檔解壓縮後超過 %(mb)d MB，"
                        "請以較低的解析度（例如 300 dpi）重新掃描後再上傳。",
                        mb=limit // (1024 * 1024),
                    )
                )


def _decoded_size(stream: pikepdf.Stream, budget: int) -> int:
    """How many bytes drawing the stream means; counting stops soon after `budget`."""
    filters = _filters(stream)
    if stream.get("/Subtype") == "/Image":
        return max(_declared_image_size(stream), _coded_image_size(stream, filters))
    chunks: Iterable[bytes] = _chunks(memoryview(stream.get_raw_stream_buffer()))
    for index, name in enumerate(filters):
        decoder = STREAMED_DECODERS.get(name)
        if decoder is None:
            read = sum(len(chunk) for chunk in chunks)
            return read * prod(
                WORST_EXPANSION.get(later, UNKNOWN_EXPANSION) for later in filters[index:]
            )
        chunks = decoder(chunks)
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > budget:
            break
    return total


def _filters(stream: pikepdf.Stream) -> list[str]:
    value = stream.get("/Filter")
    names = [value] if isinstance(value, pikepdf.Name) else list(value or [])
    return [FILTER_ABBREVIATIONS.get(str(name), str(name)) for name in names]


def _declared_image_size(image: pikepdf.Stream) -> int:
    """Width × height × components × bits, as the image's dictionary declares them."""
    width, height = int(image.get("/Width", 0)), int(image.get("/Height", 0))
    if image.get("/ImageMask", False):
        components, bits = 1, 1
    else:
        components = _components(image.get("/ColorSpace"))
        bits = int(image.get("/BitsPerComponent", 8))
    return ceil(max(width, 0) * components * max(bits, 1) / 8) * max(height, 0)


def _components(space) -> int:
    if isinstance(space, pikepdf.Array) and len(space) > 0:
        family = str(space[0])
        if family == "/ICCBased" and isinstance(space[1], pikepdf.Stream):
            return int(space[1].get("/N", MOST_COMPONENTS))
        if family == "/DeviceN" and isinstance(space[1], pikepdf.Array):
            return max(len(space[1]), 1)
        return COLOUR_COMPONENTS.get(family, MOST_COMPONENTS)
    return COLOUR_COMPONENTS.get(str(space), MOST_COMPONENTS)


def _coded_image_size(image: pikepdf.Stream, filters: list[str]) -> int:
    """For a JPEG or JPEG 2000 image, the pixels its own header declares (as CMYK bytes).

    A reader decodes the image the header describes, whatever the dictionary says.
    """
    if len(filters) != 1 or filters[0] not in CODED_IMAGE_FORMATS:
        return 0
    head = bytes(image.get_raw_stream_buffer())
    try:
        with Image.open(BytesIO(head), formats=[CODED_IMAGE_FORMATS[filters[0]]]) as coded:
            width, height = coded.size
    except Image.DecompressionBombError:
        return 2**63
    except Exception:  # noqa: BLE001 - a header Pillow cannot read: the reader fails too
        return 0
    return width * height * MOST_COMPONENTS


def _chunks(view: memoryview) -> Iterator[bytes]:
    for start in range(0, len(view), CHUNK):
        yield view[start : start + CHUNK]


def _inflate(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """zlib-inflated chunks, at most INFLATE_STEP each; a damaged stream ends early."""
    inflater = zlib.decompressobj()
    try:
        for chunk in chunks:
            pending = chunk
            while pending and not inflater.eof:
                yield inflater.decompress(pending, INFLATE_STEP)
                pending = inflater.unconsumed_tail
            if inflater.eof:
                return
    except zlib.error:
        return  # a reader stops at the damage too


def _from_hex(chunks: Iterable[bytes]) -> Iterator[bytes]:
    carry = b""
    for chunk in chunks:
        text, end, _rest = bytes(chunk).partition(b">")
        digits = carry + text.translate(None, WHITESPACE)
        even = len(digits) - len(digits) % 2
        try:
            yield bytes.fromhex(digits[:even].decode("ascii"))
        except ValueError:
            return  # not hexadecimal: a reader stops here too
        carry = digits[even:]
        if end:
            break
    if carry:
        yield bytes.fromhex((carry + b"0").decode("ascii"))  # an odd last digit, as 0-padded


def _from_base85(chunks: Iterable[bytes]) -> Iterator[bytes]:
    carry = b""
    for chunk in chunks:
        text, end, _rest = bytes(chunk).partition(b"~>")
        # "z" stands for "!!!!!" (four zero bytes): spelled out, every group is 5 characters.
        groups = carry + text.translate(None, WHITESPACE).replace(b"z", b"!!!!!")
        whole = len(groups) - len(groups) % 5
        try:
            yield a85decode(groups[:whole])
        except ValueError:
            return
        carry = groups[whole:]
        if end:
            break
    if len(carry) > 1:
        yield a85decode(carry.ljust(5, b"u"))[: len(carry) - 1]  # n characters: n - 1 bytes


STREAMED_DECODERS: Final = {
    "/FlateDecode": _inflate,
    "/ASCIIHexDecode": _from_hex,
    "/ASCII85Decode": _from_base85,
}


def _check_image(data: bytes, image_format: str, limits: ScanLimits) -> None:
    too_many = ScanRefused(
        _l(
            "這個圖檔超過 %(megapixels)d 百萬像素，"
            "請以較低的解析度（例如 300 dpi）重新掃描後再上傳。",
            megapixels=limits.image_pixels // MEGA,
        )
    )
    try:
        with Image.open(BytesIO(data), formats=[image_format]) as image:
            width, height = image.size  # from the header: nothing is decoded yet
    except Image.DecompressionBombError as error:
        raise too_many from error
    except Exception as error:  # noqa: BLE001 - any header Pillow cannot read
        raise ScanRefused(_l("無法讀取這個圖檔（可能已損壞），請重新掃描後再上傳。")) from error
    if width * height > limits.image_pixels:
        raise too_many
