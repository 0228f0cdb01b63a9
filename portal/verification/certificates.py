"""Is this signature over our challenge made by a valid card of that institution?

Pure functions over bytes and certificates: no Flask, no database, no clock of their own
(the caller passes `now`). Whether the challenge is fresh and used once is the service's
business; here the challenge is whatever the service hands over. Revocation is judged from
the CRLs the caller hands over (revocation.py says which count).

Which cards count is configuration (card_kinds.py): each kind names its anchors, policies,
the subject attribute holding the institution code, and the institutions it may verify.
HCA institution (HOP) certificates name the institution in the subject, and the 10-digit
醫事機構代碼 is read from the subject's `serialNumber` attribute (OID 2.5.4.5), the
attribute Taiwan's government PKIs use for an organisation's identifier (MOEACA puts the
統一編號 there the same way); the GCA default reads the same attribute. If a real card
carries the code elsewhere, its kind's `institution_code` names that attribute instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from portal.verification.card_kinds import (
    GCA_AGENCY,
    CardKind,
    hca_kind,
)
from portal.verification.revocation import Revocation, RevocationLists, revocation_status

TRUST_ANCHOR_SUFFIXES = (".pem", ".crt", ".cer", ".der")


def N_(message: str) -> str:  # noqa: N802 (gettext's name for "mark, translate later")
    """Mark a message for the translation catalogs; the portal translates it where shown."""
    return message


MESSAGES = {
    "malformed": N_("無法讀取讀卡程式傳回的憑證或簽章，請重新插入機構卡後再試一次。"),
    "untrusted": N_("這張卡片的憑證不是由信任的憑證機構（醫事憑證管理中心）簽發，無法用來驗證。"),
    "expired": N_("這張機構卡的憑證已過期，請向醫事憑證管理中心申請換發，或改用紙本審核。"),
    "not_yet_valid": N_("這張機構卡的憑證還沒生效，請等生效後再驗證，或改用紙本審核。"),
    "key_usage": N_("這張卡片的憑證不能用來簽章，請確認插入的是醫事機構卡。"),
    "not_institution_card": N_(
        "這張卡片不是醫事機構卡（可能是醫事人員卡或其他卡片），請改插機構卡。"
    ),
    "not_agency_card": N_(
        "這張卡片不是政府單位憑證卡（可能是個人憑證或其他卡片），請改插衛生局的政府單位憑證卡。"
    ),
    "kind_not_accepted": N_(
        "這種卡片不能驗證這個機構的申請：政府單位憑證卡只能驗證衛生局的申請，醫事機構請插醫事機構卡。"
    ),
    "institution_mismatch": N_("這張機構卡屬於機構代碼 {card}，與申請的機構代碼 {expected} 不符。"),
    "bad_signature": N_("機構卡的簽章驗證失敗，請再操作一次；若一再失敗，請改用紙本審核。"),
    "revoked": N_("這張機構卡的憑證已被廢止，無法驗證。請向醫事憑證管理中心確認，或改用紙本審核。"),
    "revocation_unknown": N_(
        "目前無法確認這張機構卡的憑證是否已被廢止，暫時不能用機構卡驗證。請稍後再試，"
        "或改用紙本審核。"
    ),
}


class CardVerificationError(Exception):
    """The card's answer was rejected; `code` is stable, `message` is for the clerk.

    `message` is the Traditional Chinese text with `params` filled in; the portal shows
    `MESSAGES[code]` translated, filled in with the same `params`.
    """

    def __init__(self, code: str, **params: str) -> None:
        self.code = code
        self.params = params
        self.message = MESSAGES[code].format(**params)
        super().__init__(f"{code}: {self.message}")


@dataclass(frozen=True)
class VerifiedCard:
    """What a verified institution card proves."""

    institution_code: str
    subject: str  # RFC 4514, for the audit trail
    serial: str  # certificate serial number, upper-case hex
    not_after: datetime
    fingerprint_sha256: str
    # GOOD, or UNKNOWN when no current CRL was at hand and none was required.
    revocation: Revocation
    card_kind: str = "hca-institution"  # the configured kind it was judged as


def verify_card_signature(
    certificate_der: bytes,
    signature: bytes,
    challenge: bytes,
    *,
    trust_anchors: Sequence[x509.Certificate] = (),
    card_kinds: Sequence[CardKind] | None = None,
    expected_institution_code: str,
    institution_kind: str | None = None,
    now: datetime,
    crls: RevocationLists | Sequence[x509.CertificateRevocationList] = (),
    require_crl: bool = False,
) -> VerifiedCard:
    """Check the card certificate and its signature over `challenge`; raise if anything fails.

    The card is judged as the kind (of `card_kinds`; without them, HCA's institution card
    trusted through `trust_anchors`) whose anchors issued it; that kind must be allowed to
    verify an institution of `institution_kind`. `crls` are the revocation lists at hand (a
    RevocationLists kept between calls saves checking them again); with `require_crl`, a
    certificate that no current one covers is refused ("revocation_unknown") instead of
    accepted unchecked.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise CardVerificationError("malformed") from None
    kinds = card_kinds if card_kinds is not None else [hca_kind(trust_anchors)]
    kind, issuer = _kind_and_issuer(certificate, kinds, now)
    _check_validity(certificate, now)
    if not isinstance(crls, RevocationLists):
        crls = RevocationLists(crls)
    revocation = revocation_status(certificate, issuer, crls, now)
    if revocation is Revocation.REVOKED:
        raise CardVerificationError("revoked")
    if revocation is Revocation.UNKNOWN and require_crl:
        raise CardVerificationError("revocation_unknown")
    _check_key_usage(certificate)
    _check_policy(certificate, kind)
    code = institution_code_of(certificate, kind)
    if not kind.verifies(institution_kind):
        raise CardVerificationError("kind_not_accepted")
    if code != expected_institution_code.strip():
        raise CardVerificationError(
            "institution_mismatch", card=code, expected=expected_institution_code
        )
    _check_signature(certificate, signature, challenge)
    return VerifiedCard(
        institution_code=code,
        subject=certificate.subject.rfc4514_string(),
        serial=format(certificate.serial_number, "X"),
        not_after=certificate.not_valid_after_utc,
        fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(),
        revocation=revocation,
        card_kind=kind.key,
    )


def institution_code_of(certificate: x509.Certificate, kind: CardKind | None = None) -> str:
    """The institution code in the subject attribute the kind names (HCA's: serialNumber)."""
    attribute = kind.code_attribute if kind else NameOID.SERIAL_NUMBER
    values = certificate.subject.get_attributes_for_oid(attribute)
    if len(values) != 1 or not str(values[0].value).strip():
        raise CardVerificationError(_not_this_kind(kind))
    return str(values[0].value).strip()


def _not_this_kind(kind: CardKind | None) -> str:
    """The refusal for a certificate that lacks what its kind's cards carry."""
    return "not_agency_card" if kind and kind.key == GCA_AGENCY else "not_institution_card"


def _kind_and_issuer(
    certificate: x509.Certificate, kinds: Sequence[CardKind], now: datetime
) -> tuple[CardKind, x509.Certificate]:
    """The kind whose anchor signed the certificate, and that anchor, a valid CA;
    "untrusted" if there is none.

    Every certificate in a kind's anchors directory is trusted as configured, so HCA's
    issuing CA (an intermediate under its root) is put there next to the root: the card
    only hands over its own certificate, and the chain is then leaf -> anchor.
    """
    for kind in kinds:
        for anchor in kind.trust_anchors:
            if anchor.subject != certificate.issuer or not _usable_ca(anchor, now):
                continue
            try:
                certificate.verify_directly_issued_by(anchor)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return kind, anchor
    raise CardVerificationError("untrusted")


def _usable_ca(anchor: x509.Certificate, now: datetime) -> bool:
    """A CA certificate, allowed to sign certificates, valid now."""
    try:
        constraints = anchor.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        return False
    try:
        usage = anchor.extensions.get_extension_for_class(x509.KeyUsage).value
        signs_certificates = usage.key_cert_sign
    except x509.ExtensionNotFound:
        signs_certificates = True  # no KeyUsage extension: no restriction
    in_validity = anchor.not_valid_before_utc <= now <= anchor.not_valid_after_utc
    return constraints.ca and signs_certificates and in_validity


def _check_validity(certificate: x509.Certificate, now: datetime) -> None:
    if now < certificate.not_valid_before_utc:
        raise CardVerificationError("not_yet_valid")
    if now > certificate.not_valid_after_utc:
        raise CardVerificationError("expired")


def _check_key_usage(certificate: x509.Certificate) -> None:
    """The key may make digital signatures (the card's signing certificate, not its
    encryption one)."""
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise CardVerificationError("key_usage") from None
    if not usage.digital_signature:
        raise CardVerificationError("key_usage")


def _check_policy(certificate: x509.Certificate, kind: CardKind) -> None:
    """The certificate is issued under one of its kind's policies."""
    try:
        policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
    except x509.ExtensionNotFound:
        raise CardVerificationError(_not_this_kind(kind)) from None
    if not any(p.policy_identifier in kind.policies for p in policies.value):
        raise CardVerificationError(_not_this_kind(kind))


def _check_signature(certificate: x509.Certificate, signature: bytes, challenge: bytes) -> None:
    """The signature over the challenge: RSA PKCS#1 v1.5 or ECDSA, both with SHA-256.

    The scheme follows from the certificate's key, never from what the helper claims.
    """
    key = certificate.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, challenge, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, challenge, ec.ECDSA(hashes.SHA256()))
        else:
            raise CardVerificationError("key_usage")
    except InvalidSignature:
        raise CardVerificationError("bad_signature") from None


def load_trust_anchors(directory: Path) -> list[x509.Certificate]:
    """Every certificate in `directory` (PEM, possibly several per file, or DER); none if
    there is no such directory (a card kind not set up trusts no card)."""
    anchors: list[x509.Certificate] = []
    if not directory.is_dir():
        return anchors
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.suffix.lower() not in TRUST_ANCHOR_SUFFIXES:
            continue
        data = path.read_bytes()
        try:
            if b"-----BEGIN CERTIFICATE-----" in data:
                anchors.extend(x509.load_pem_x509_certificates(data))
            else:
                anchors.append(x509.load_der_x509_certificate(data))
        except ValueError as error:
            # A misconfigured anchors directory should stop the portal, not pass silently.
            raise ValueError(f"{path}: not a certificate ({error})") from error
    return anchors
