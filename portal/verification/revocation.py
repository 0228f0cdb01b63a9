"""Has the card's certificate been revoked? Its CA's certificate revocation lists (CRLs).

Pure functions over certificates and CRLs, like certificates.py (the caller passes `now`),
and reading the CRLs of a directory. What counts:

- A CRL is used only if it is *authentic*: signed with the key of the CA that issued the
  card's certificate (a CRL that merely carries the CA's name is ignored, as if absent),
  that CA being allowed to sign CRLs, and with no critical extension we do not understand.
- It must *cover* the certificate: the same issuer, a complete list (delta CRLs are not
  used), and when the CA splits its list into partitions (an issuing distribution point),
  the partition the certificate names in its own CRL distribution points.
- A certificate listed in an authentic CRL is revoked, even if that CRL is out of date:
  a revocation is never taken back (a card on hold is refused as well while listed).
- A certificate not listed is *good* only if a covering CRL is current:
  thisUpdate <= now <= nextUpdate. Otherwise its status is *unknown*, and the portal's
  setting CARD_CRL_REQUIRED decides (refuse, in production; see the README).

A CA's CRL is large (thousands of entries): checking its signature took about 8 ms for
5,000 entries, and finding a serial number in it 1 ms. `RevocationLists` does both once per
list and CA, not once per card; the portal keeps one per reading of its CRL directory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

logger = logging.getLogger(__name__)

CRL_SUFFIXES = (".crl", ".pem", ".der")


class Revocation(StrEnum):
    """What the CRLs say of a certificate."""

    GOOD = "good"  # not listed in a current CRL that covers it
    REVOKED = "revoked"  # listed in an authentic CRL that covers it
    UNKNOWN = "unknown"  # no current authentic CRL covers it


# An authentic CRL and the serial numbers it lists.
ListedBy = tuple[x509.CertificateRevocationList, frozenset[int]]


class RevocationLists:
    """CRLs, with what each CA signed and the serial numbers each lists worked out once."""

    def __init__(self, crls: Iterable[x509.CertificateRevocationList] = ()) -> None:
        self.crls = tuple(crls)
        self._signed: dict[bytes, tuple[ListedBy, ...]] = {}  # by the CA's fingerprint

    def signed_by(self, issuer: x509.Certificate) -> tuple[ListedBy, ...]:
        """The authentic CRLs of `issuer`, each with the serial numbers it lists."""
        key = issuer.fingerprint(hashes.SHA256())
        found = self._signed.get(key)
        if found is None:
            found = tuple(
                (crl, frozenset(entry.serial_number for entry in crl))
                for crl in self.crls
                if is_authentic(crl, issuer)
            )
            self._signed[key] = found
        return found


def revocation_status(
    certificate: x509.Certificate,
    issuer: x509.Certificate,
    crls: RevocationLists,
    now: datetime,
) -> Revocation:
    """The certificate's status according to those of `crls` that count (module docstring)."""
    status = Revocation.UNKNOWN
    for crl, revoked in crls.signed_by(issuer):
        if not covers(crl, certificate):
            continue
        if certificate.serial_number in revoked:
            return Revocation.REVOKED
        if is_current(crl, now):
            status = Revocation.GOOD
    return status


def is_authentic(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    """Signed by `issuer`'s key, which may sign CRLs, and fully understood."""
    if crl.issuer != issuer.subject or not _may_sign_crls(issuer):
        return False
    if any(
        extension.critical and isinstance(extension.value, x509.UnrecognizedExtension)
        for extension in crl.extensions
    ):
        return False
    try:
        return crl.is_signature_valid(issuer.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def is_current(crl: x509.CertificateRevocationList, now: datetime) -> bool:
    """thisUpdate <= now <= nextUpdate (a CRL without nextUpdate is never current)."""
    next_update = crl.next_update_utc
    return next_update is not None and crl.last_update_utc <= now <= next_update


def covers(crl: x509.CertificateRevocationList, certificate: x509.Certificate) -> bool:
    """Whether the CRL is the complete list for this certificate (see the module docstring)."""
    if crl.issuer != certificate.issuer:
        return False
    extensions = crl.extensions
    try:
        extensions.get_extension_for_class(x509.DeltaCRLIndicator)
        return False
    except x509.ExtensionNotFound:
        pass
    try:
        scope = extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    except x509.ExtensionNotFound:
        return True
    if (
        scope.indirect_crl
        or scope.only_contains_ca_certs
        or scope.only_contains_attribute_certs
        or scope.only_some_reasons
        or scope.relative_name is not None
    ):
        return False
    if scope.full_name is None:
        return True
    return any(set(scope.full_name) & set(names) for names in _distribution_points(certificate))


def _distribution_points(certificate: x509.Certificate) -> list[list[x509.GeneralName]]:
    """The full names of the certificate's CRL distribution points."""
    try:
        points = certificate.extensions.get_extension_for_class(x509.CRLDistributionPoints)
    except x509.ExtensionNotFound:
        return []
    return [list(point.full_name) for point in points.value if point.full_name]


def _may_sign_crls(issuer: x509.Certificate) -> bool:
    try:
        return issuer.extensions.get_extension_for_class(x509.KeyUsage).value.crl_sign
    except x509.ExtensionNotFound:
        return True  # no KeyUsage extension: no restriction


def parse_crl(data: bytes) -> x509.CertificateRevocationList:
    """A CRL in PEM or DER; ValueError if it is neither."""
    if b"-----BEGIN X509 CRL-----" in data:
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def load_crls(directory: Path) -> list[x509.CertificateRevocationList]:
    """The CRLs in `directory` (one per file, PEM or DER); none if it does not exist.

    A file that is not a CRL is skipped with an error in the log rather than stopping card
    verification: it counts as absent, and what a missing CRL means is decided by the caller.
    """
    if not directory.is_dir():
        return []
    crls = []
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.suffix.lower() not in CRL_SUFFIXES:
            continue
        try:
            crls.append(parse_crl(path.read_bytes()))
        except ValueError as error:
            logger.error("%s: not a certificate revocation list (%s); ignored", path, error)
    return crls
