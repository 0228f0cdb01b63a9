"""What the portal trusts for card verification: the anchors and the CRLs, each read from
its directory and kept until a file there changes.

Reading and parsing the anchors took about a tenth of each verification, and a CA's CRL
holds thousands of entries (its signature and serial numbers are worked out once, see
revocation.RevocationLists); a listing with each file's size and modification time is a few
system calls. Kept per process, by directory.
"""

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from cryptography import x509

from portal.verification.certificates import load_trust_anchors
from portal.verification.revocation import RevocationLists, load_crls

T = TypeVar("T")

# What was last read from the anchors and CRL directories, with the listing it was read from.
_read: dict[tuple[str, Path], tuple[tuple, object]] = {}


def trust_anchors(directory: Path) -> list[x509.Certificate]:
    """The directory's trust anchors, read again only when a file in it was changed."""
    return _read_when_changed(directory, load_trust_anchors)


def revocation_lists(directory: Path) -> RevocationLists:
    """The directory's CRLs, read again only when a file in it was changed (or added)."""
    return _read_when_changed(directory, _load_revocation_lists)


def _load_revocation_lists(directory: Path) -> RevocationLists:
    """The directory's CRLs, to be checked once each."""
    return RevocationLists(load_crls(directory))


def _read_when_changed(directory: Path, load: Callable[[Path], T]) -> T:
    """`load(directory)`, cached until a file in the directory changes, appears or goes."""
    listing = _listing(directory)
    key = (load.__name__, directory)
    known = _read.get(key)
    if known is None or known[0] != listing:
        known = _read[key] = (listing, load(directory))
    return known[1]  # type: ignore[return-value]


def _listing(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Each file's name, modification time and size; none for a directory that is not there.

    A file renamed away while listing (a CRL being replaced) is left out: the next listing
    sees its successor.
    """
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return ()
    found = []
    for entry in entries:
        try:
            status = entry.stat()
        except FileNotFoundError:
            continue
        found.append((entry.name, status.st_mtime_ns, status.st_size))
    return tuple(sorted(found))
