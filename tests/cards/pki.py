"""A test PKI in the shape of HCA's: a root CA, an issuing CA, institution card certificates,
and the CAs' certificate revocation lists (CRLs); and one in the shape of GCA's, whose
agency cards (政府單位憑證卡) carry the GPKI class-3 policy (`gca_card_options`).

Card certificates carry what real HCA institution-card (HOP) certificates carry and what
portal.verification checks: the institution code in the subject's serialNumber attribute,
keyUsage digitalSignature, and the institution-card policy 2.16.886.1.100.3.2.21.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from portal.verification import GPKI_CLASS3_POLICY, INSTITUTION_CARD_POLICY

INSTITUTION_CODE = "3501200000"  # 臺北虛擬診所 in the demo data
OTHER_INSTITUTION_CODE = "0101090517"
HEALTH_BUREAU_CODE = "0141010000"  # a test 衛生局
OTHER_HEALTH_BUREAU_CODE = "0241010000"
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@cache
def rsa_key(label: str) -> rsa.RSAPrivateKey:
    """An RSA-2048 key per label, generated once per test run (they are slow to make)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class Authority:
    """A CA: its key and certificate."""

    key: PrivateKey
    certificate: x509.Certificate

    @property
    def name(self) -> x509.Name:
        """The CA's subject, the issuer of what it signs."""
        return self.certificate.subject


@dataclass(frozen=True)
class CardIdentity:
    """What goes on a card: the key pair and the certificate."""

    key: PrivateKey
    certificate: x509.Certificate

    @property
    def certificate_der(self) -> bytes:
        """The certificate as the card stores it."""
        return self.certificate.public_bytes(serialization.Encoding.DER)

    def key_pkcs8_pem(self) -> bytes:
        """The private key as PKCS#8 PEM (for SoftHSM2 and the virtual card)."""
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _name(
    common_name: str,
    *,
    serial_number: str | None = None,
    organization: str = "測試醫事憑證管理中心",
) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "TW"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if serial_number is not None:
        attributes.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial_number))
    return x509.Name(attributes)


def make_authority(
    common_name: str,
    *,
    issuer: Authority | None = None,
    key_label: str | None = None,
    organization: str = "測試醫事憑證管理中心",
) -> Authority:
    """A root CA (no issuer) or an issuing CA under `issuer`."""
    key = rsa_key(key_label or common_name)
    now = datetime.now(UTC)
    name = _name(common_name, organization=organization)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.name if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=365))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(key_usage(key_cert_sign=True), critical=True)
    )
    return Authority(key, builder.sign(issuer.key if issuer else key, hashes.SHA256()))


@dataclass(frozen=True)
class CardOptions:
    """What to get wrong, or right, in a card certificate."""

    institution_code: str | None = INSTITUTION_CODE
    not_before: timedelta = timedelta(days=-1)  # relative to now
    not_after: timedelta = timedelta(days=365)
    digital_signature: bool = True
    policies: tuple[x509.ObjectIdentifier, ...] = field(
        default_factory=lambda: (INSTITUTION_CARD_POLICY,)
    )
    key: PrivateKey | None = None
    # The URL of the CRL that lists the card if revoked (CRL distribution points).
    crl_url: str | None = None
    holder: str = "臺北虛擬診所"
    organization: str = "測試醫事憑證管理中心"


def gca_card_options(
    institution_code: str = HEALTH_BUREAU_CODE, **overrides: object
) -> CardOptions:
    """A 政府單位憑證卡 of a health bureau: GPKI class-3 policy, the code in serialNumber."""
    values: dict = {
        "institution_code": institution_code,
        "policies": (GPKI_CLASS3_POLICY,),
        "holder": "測試市政府衛生局",
        "organization": "測試政府憑證管理中心",
    }
    return CardOptions(**{**values, **overrides})


def make_gca_authority() -> Authority:
    """The test GCA (stands in for 政府憑證管理中心): a root CA of its own."""
    return make_authority("測試政府憑證管理中心", organization="測試政府憑證管理中心")


def issue_card(authority: Authority, options: CardOptions | None = None) -> CardIdentity:
    """An institution card's signing key and certificate, issued by `authority`."""
    options = options or CardOptions()
    key = options.key or rsa_key("card")
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(
            _name(
                options.holder,
                serial_number=options.institution_code,
                organization=options.organization,
            )
        )
        .issuer_name(authority.name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + options.not_before)
        .not_valid_after(now + options.not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            key_usage(
                digital_signature=options.digital_signature,
                key_encipherment=not options.digital_signature,
            ),
            critical=True,
        )
    )
    if options.policies:
        policies = [x509.PolicyInformation(oid, None) for oid in options.policies]
        builder = builder.add_extension(x509.CertificatePolicies(policies), critical=False)
    if options.crl_url:
        point = x509.DistributionPoint(
            [x509.UniformResourceIdentifier(options.crl_url)], None, None, None
        )
        builder = builder.add_extension(x509.CRLDistributionPoints([point]), critical=False)
    return CardIdentity(key, builder.sign(authority.key, hashes.SHA256()))


def issue_crl(
    authority: Authority,
    revoked: Iterable[CardIdentity | int] = (),
    *,
    this_update: timedelta = timedelta(hours=-1),  # relative to now
    next_update: timedelta = timedelta(days=1),
    signing_key: PrivateKey | None = None,
    extensions: Sequence[tuple[x509.ExtensionType, bool]] = (),
) -> x509.CertificateRevocationList:
    """The authority's CRL listing `revoked` (cards, or bare serial numbers), as a CA
    publishes it.

    `signing_key` other than the authority's makes a CRL with a bad signature; `extensions`
    (extension, critical) are added as they are (a delta indicator, a partition...).
    """
    now = datetime.now(UTC)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(authority.name)
        .last_update(now + this_update)
        .next_update(now + next_update)
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
    )
    for card in revoked:
        serial = card if isinstance(card, int) else card.certificate.serial_number
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(serial)
            .revocation_date(now + this_update - timedelta(minutes=5))
            .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False)
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signing_key or authority.key, hashes.SHA256())


def crl_der(crl: x509.CertificateRevocationList) -> bytes:
    """The CRL as a CA's web server hands it out."""
    return crl.public_bytes(serialization.Encoding.DER)


def key_usage(
    *,
    digital_signature: bool = False,
    non_repudiation: bool = False,
    key_encipherment: bool = False,
    key_cert_sign: bool = False,
) -> x509.KeyUsage:
    """The KeyUsage extension with these bits set (non_repudiation is contentCommitment)."""
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=non_repudiation,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
