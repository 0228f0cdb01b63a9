"""A desk scanner, simulated: a printed form comes back stamped, skewed, noisy and compressed.

The page is drawn from the form's PDF by poppler's pdftoppm at the scanner's resolution, the
institution's seal and the head's seal are pressed in red in their boxes, the sheet lies a
little askew on the glass, and the sensor adds grain and a slight blur. The result is saved
as a scanner saves it: JPEG, PNG, or a PDF holding one JPEG image per page.
"""

from __future__ import annotations

import random
import subprocess
from io import BytesIO

from PIL import Image, ImageDraw, ImageFilter

SCAN_DPI = 300
A4_INCHES = (8.27, 11.69)
SEAL_RED = (200, 35, 45)
# Where the stamp boxes of the 管理者帳號申請、異動表 are, as shares of the page (left, top,
# right, bottom): 機構關防 and 負責人章.
INSTITUTION_SEAL = (0.14, 0.64, 0.32, 0.77)
HEAD_SEAL = (0.68, 0.65, 0.78, 0.72)


def scan(pdf: bytes, dpi: int = SCAN_DPI, skew_degrees: float = 1.5) -> Image.Image:
    """The PDF's first page as a colour scan of the stamped printout."""
    drawn = subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", "-"],
        input=pdf,
        capture_output=True,
        timeout=60,
        check=True,
    )
    page = Image.open(BytesIO(drawn.stdout)).convert("RGB")
    _stamp(page, INSTITUTION_SEAL)
    _stamp(page, HEAD_SEAL)
    page = page.rotate(skew_degrees, Image.Resampling.BICUBIC, fillcolor="white")
    grain = Image.effect_noise(page.size, 40).convert("RGB")
    return Image.blend(page, grain, 0.06).filter(ImageFilter.GaussianBlur(0.7))


def blank_page(dpi: int = SCAN_DPI) -> Image.Image:
    """An empty A4 sheet, scanned."""
    size = (round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi))
    return Image.new("RGB", size, (246, 246, 244))


def noise_page(dpi: int = SCAN_DPI, seed: int = 0) -> Image.Image:
    """An A4 page of random grey pixels: finder-pattern look-alikes everywhere, no code."""
    size = (round(A4_INCHES[0] * dpi), round(A4_INCHES[1] * dpi))
    return Image.frombytes("L", size, random.Random(seed).randbytes(size[0] * size[1]))


def jpeg(image: Image.Image, quality: int = 75) -> bytes:
    """The scan as a scanner's JPEG."""
    buffer = BytesIO()
    image.save(buffer, "JPEG", quality=quality, dpi=(SCAN_DPI, SCAN_DPI))
    return buffer.getvalue()


def png(image: Image.Image) -> bytes:
    """The scan as a PNG."""
    buffer = BytesIO()
    image.save(buffer, "PNG", dpi=(SCAN_DPI, SCAN_DPI))
    return buffer.getvalue()


def image_pdf(*pages: Image.Image, dpi: int = SCAN_DPI, quality: int = 75) -> bytes:
    """The scans as a scanner's PDF: one page per image, each a JPEG of the page's size."""
    buffer = BytesIO()
    first, *rest = pages
    first.save(buffer, "PDF", resolution=dpi, quality=quality, save_all=True, append_images=rest)
    return buffer.getvalue()


def _stamp(page: Image.Image, box: tuple[float, float, float, float]) -> None:
    """Press a square red seal into `box` (shares of the page), a little off true."""
    width, height = page.size
    left, top, right, bottom = (
        round(share * extent)
        for share, extent in zip(box, (width, height, width, height), strict=True)
    )
    side = min(right - left, bottom - top)
    seal = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(seal)
    border = max(side // 18, 2)
    draw.rectangle((0, 0, side - 1, side - 1), outline=200, width=border)
    # Strokes for the carved characters, uneven as ink on paper is.
    rng = random.Random(side)
    for _stroke in range(24):
        x, y = (rng.randrange(border * 2, side - border * 2) for _axis in "xy")
        length = rng.randrange(side // 10, side // 3)
        end = (x + length, y) if rng.random() < 0.5 else (x, y + length)
        draw.line((x, y, *end), fill=rng.randrange(120, 220), width=max(border // 2, 1))
    seal = seal.rotate(rng.uniform(-6, 6), Image.Resampling.BICUBIC)
    ink = Image.new("RGB", seal.size, SEAL_RED)
    page.paste(ink, (left, top), seal)
