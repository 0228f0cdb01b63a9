"""Downloading the card CAs' CRLs into CARD_CRL_DIR: what `flask refresh-card-crls` does.

A downloaded CRL is installed only if it is authentic (signed by one of the trust anchors,
as revocation.py judges it) and not older than the one it replaces. It is written to a
temporary file and renamed over the old one, so the portal never reads half a file, and a
failed, forged or replayed download leaves the previous CRL in place. Each URL keeps one
file, named after it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from portal.verification.revocation import is_authentic, is_current, parse_crl

# A large CA's complete CRL runs to a few megabytes; anything far beyond is not a CRL.
MAX_CRL_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class CrlRefresh:
    """What became of one URL: the CRL installed (or kept), and what is wrong, if anything."""

    url: str
    path: Path
    crl: x509.CertificateRevocationList | None  # the one now in `path`, if any
    installed: bool
    problem: str | None = None


def refresh_crls(
    urls: Iterable[str],
    directory: Path,
    anchors: list[x509.Certificate],
    *,
    timeout: float,
    now: datetime,
) -> list[CrlRefresh]:
    """Download each URL's CRL and install it in `directory` if it may replace what is there."""
    directory.mkdir(parents=True, exist_ok=True)
    return [_refresh(url, directory, anchors, timeout, now) for url in urls]


def _refresh(
    url: str, directory: Path, anchors: list[x509.Certificate], timeout: float, now: datetime
) -> CrlRefresh:
    path = directory / crl_file_name(url)
    installed = _installed(path)
    try:
        crl = parse_crl(fetch(url, timeout))
    except (OSError, ValueError) as error:
        return CrlRefresh(url, path, installed, False, f"下載或讀取失敗：{error}")
    if not any(is_authentic(crl, anchor) for anchor in anchors):
        return CrlRefresh(url, path, installed, False, "簽章不符任何信任的憑證機構，未採用")
    if installed is not None and crl.last_update_utc < installed.last_update_utc:
        return CrlRefresh(url, path, installed, False, "比已安裝的廢止清冊舊，未採用")
    _write_atomically(path, crl.public_bytes(Encoding.DER))
    problem = None if is_current(crl, now) else "已安裝，但這份廢止清冊已過期（nextUpdate 已過）"
    return CrlRefresh(url, path, crl, True, problem)


def fetch(url: str, timeout: float) -> bytes:
    """The body at an http(s) URL, within `timeout` seconds per read; OSError if not."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError(f"not an http(s) URL: {url}")
    with urllib.request.urlopen(url, timeout=timeout) as response:
        body = response.read(MAX_CRL_BYTES + 1)
    if len(body) > MAX_CRL_BYTES:
        raise ValueError(f"more than {MAX_CRL_BYTES} bytes")
    return body


def crl_file_name(url: str) -> str:
    """A file name of its own for each URL: readable, and unique by a hash of the URL."""
    parts = urlsplit(url)
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{parts.hostname}-{Path(parts.path).stem}")
    digest = hashlib.sha256(url.encode()).hexdigest()[:12]
    return f"{readable.strip('-')[:80]}-{digest}.crl"


def _installed(path: Path) -> x509.CertificateRevocationList | None:
    try:
        return parse_crl(path.read_bytes())
    except (OSError, ValueError):
        return None


def _write_atomically(path: Path, data: bytes) -> None:
    """Write a temporary file next to `path`, then rename it over `path`."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
