"""Hostile scans, made small: files that would cost a reader minutes or gigabytes (and a
few sound ones to compare them with).

Each is a few kilobytes to a few megabytes, as an attacker would upload it: a deflate stream
that inflates a thousandfold, a page a kilometre wide, hundreds of pages, a shading that
costs seconds of CPU per page, an image that declares a billion pixels.
"""

from __future__ import annotations

import struct
import zlib
from io import BytesIO

import pikepdf
from pikepdf import Array, Dictionary, Name

MIB = 1024 * 1024
A4_POINTS = (595, 842)


def deflated_spaces(megabytes: int) -> bytes:
    """A zlib stream (with its checksum) that inflates to `megabytes` MiB of spaces.

    A full flush makes each mebibyte's deflate block stand alone, so one is made and
    repeated: a 400 MiB stream is 400 KB and takes a fraction of a second to build.
    """
    spaces = b" " * MIB
    compressor = zlib.compressobj(9)
    first = compressor.compress(spaces) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(spaces) + compressor.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(megabytes):
        checksum = zlib.adler32(spaces, checksum)
    # An empty last block with fixed codes, then the Adler-32 of everything inflated.
    return first + again * (megabytes - 1) + b"\x03\x00" + checksum.to_bytes(4, "big")


def _saved(pdf: pikepdf.Pdf) -> bytes:
    """The PDF's bytes, its streams kept exactly as built."""
    buffer = BytesIO()
    pdf.save(buffer, compress_streams=False, stream_decode_level=pikepdf.StreamDecodeLevel.none)
    return buffer.getvalue()


def pdf_inflating_to(megabytes: int) -> bytes:
    """One A4 page whose content stream (spaces: nothing drawn) inflates to `megabytes` MiB."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=A4_POINTS)
    contents = pikepdf.Stream(pdf, deflated_spaces(megabytes))
    contents[Name.Filter] = Name.FlateDecode
    pdf.pages[0].obj[Name.Contents] = contents
    return _saved(pdf)


def pdf_with_user_unit(unit: float, size: tuple[float, float] = A4_POINTS) -> bytes:
    """One page of `size` points whose UserUnit makes each point `unit` points."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=size)
    pdf.pages[0].obj[Name.UserUnit] = unit
    return _saved(pdf)


def pdf_of_pages(count: int) -> bytes:
    """`count` blank A4 pages."""
    pdf = pikepdf.new()
    for _ in range(count):
        pdf.add_blank_page(page_size=A4_POINTS)
    return _saved(pdf)


def pdf_of_size(size: int) -> bytes:
    """A sound one-page PDF of exactly `size` bytes: its content stream is spaces."""
    padding = size
    for _attempt in range(5):
        pdf = pikepdf.new()
        pdf.add_blank_page(page_size=A4_POINTS)
        pdf.pages[0].obj[Name.Contents] = pikepdf.Stream(pdf, b" " * max(padding, 0))
        data = _saved(pdf)
        if len(data) == size:
            return data
        padding -= len(data) - size  # the stream's /Length may gain or lose a digit: again
    raise ValueError(f"no PDF of exactly {size} bytes")


def pdf_with_costly_shading(operations: int = 2_000) -> bytes:
    """One page filled by a shading whose PostScript function runs `operations` steps a pixel.

    Under a kilobyte, sound by every structural check, and seconds of CPU to draw.
    """
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=A4_POINTS)
    function = pikepdf.Stream(pdf, b"{ " + b"dup mul sqrt " * operations + b"}")
    function[Name.FunctionType] = 4
    function[Name.Domain] = Array([0, 1, 0, 1])
    function[Name.Range] = Array([0, 1])
    shading = Dictionary(
        ShadingType=1,
        ColorSpace=Name.DeviceGray,
        Domain=Array([0, 1, 0, 1]),
        Matrix=Array([A4_POINTS[0], 0, 0, A4_POINTS[1], 0, 0]),
        Function=function,
    )
    page = pdf.pages[0].obj
    page[Name.Resources] = Dictionary(Shading=Dictionary(Sh0=pdf.make_indirect(shading)))
    page[Name.Contents] = pikepdf.Stream(pdf, b"/Sh0 sh")
    return _saved(pdf)


def pdf_with_inflating_image(megabytes: int, side: int = 100_000) -> bytes:
    """One A4 page showing a `side`-pixel square grey image: `megabytes` MB of compressed zeros.

    Hand-written rather than built with pikepdf, so that nothing ever inflates the image.
    The image's checksum is wrong, and is never reached.
    """
    compressor = zlib.compressobj(9)
    zeros = bytes(MIB)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = first + again * (megabytes - 1) + compressor.flush()
    content = b"q 595 0 0 842 0 0 cm /Im Do Q"
    return _hand_written(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /XObject << /Im 5 0 R >> >> /Contents 4 0 R >>",
            b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
            b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
            b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
            % (side, side, len(stream), stream),
        ]
    )


def pdf_with_inflating_object_stream(megabytes: int) -> bytes:
    """A PDF whose page objects sit in an object stream padded to inflate to `megabytes` MiB.

    A reader inflates the whole object stream to find the objects in it.
    """
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ]
    offsets, position = [], 0
    for body in objects:
        offsets.append(position)
        position += len(body) + 1
    header = b" ".join(b"%d %d" % (n, o) for n, o in enumerate(offsets, start=1)) + b" "
    inner = header + b"\n".join(objects) + b"\n"
    # The objects, then spaces: one zlib stream whose first bytes are the objects.
    compressor = zlib.compressobj(9)
    spaces = b" " * MIB
    first = compressor.compress(inner + spaces) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(spaces) + compressor.flush(zlib.Z_FULL_FLUSH)
    checksum = zlib.adler32(inner + spaces)
    for _ in range(megabytes - 1):
        checksum = zlib.adler32(spaces, checksum)
    stream = first + again * (megabytes - 1) + b"\x03\x00" + checksum.to_bytes(4, "big")
    object_stream = (
        b"<< /Type /ObjStm /N 3 /First %d /Filter /FlateDecode /Length %d >>\nstream\n%s\n"
        b"endstream" % (len(header), len(stream), stream)
    )
    pdf = bytearray(b"%PDF-1.5\n")
    stream_offset = len(pdf)
    pdf += b"4 0 obj\n%s\nendobj\n" % object_stream
    xref_offset = len(pdf)
    # Cross-reference stream: type (1 byte), field 2 (4 bytes), field 3 (2 bytes) per object.
    rows = struct.pack(">BIH", 0, 0, 65535)
    rows += b"".join(struct.pack(">BIH", 2, 4, index) for index in range(3))
    rows += struct.pack(">BIH", 1, stream_offset, 0) + struct.pack(">BIH", 1, xref_offset, 0)
    pdf += (
        b"5 0 obj\n<< /Type /XRef /Size 6 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n%s\n"
        b"endstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % (len(rows), rows, xref_offset)
    )
    return bytes(pdf)


def _hand_written(objects: list[bytes]) -> bytes:
    """A PDF of these objects, numbered from 1, the first the catalog, with its xref table."""
    pdf = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(pdf)


def png_declaring(width: int, height: int) -> bytes:
    """A PNG that declares `width` × `height` grey pixels and holds one row of them."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        """A PNG chunk with its length and CRC."""
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = zlib.compress(b"\x00" + b"\xff" * min(width, 1_000))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", row) + chunk(b"IEND", b"")
