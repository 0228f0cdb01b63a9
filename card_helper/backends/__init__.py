"""Card backends behind one interface; each imports its library only when chosen."""

from __future__ import annotations

from card_helper.backends.base import CardBackend

BACKENDS = ("pcsc", "pkcs11")


def make_backend(
    name: str, *, pkcs11_module: str | None = None, reader: str | None = None
) -> CardBackend:
    """The backend called `name`, configured from the command line."""
    # Imported here so a clinic using PKCS#11 needs no pyscard, and the reverse.
    if name == "pcsc":
        from card_helper.backends.pcsc import PcscBackend

        return PcscBackend(reader_filter=reader)
    if name == "pkcs11":
        from card_helper.backends.pkcs11 import Pkcs11Backend

        return Pkcs11Backend(pkcs11_module)
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")
