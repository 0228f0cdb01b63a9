"""The kinds of card the portal accepts, from configuration.

A kind names its trust anchors (the CAs whose cards it is), the certificate policies a card
of that kind carries, the subject attribute holding the institution code, and which kinds
of institution it may verify (none named: any). Two ship as defaults: HCA's 醫事機構卡 for
medical institutions, and GCA's 政府單位憑證卡 for health bureaus (衛生局). A certificate is
judged as the kind whose anchors issued it; each kind has its own anchors directory, so a
CA trusted for one kind never vouches for another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

# HCA's certificate policy for institution (醫事機構) certificates on the institution card.
INSTITUTION_CARD_POLICY = x509.ObjectIdentifier("2.16.886.1.100.3.2.21")
# The government PKI's (GPKI) class-3 assurance policy, under which GCA issues the
# certificates of government agencies' cards.
GPKI_CLASS3_POLICY = x509.ObjectIdentifier("2.16.886.101.0.3.3")

HCA_INSTITUTION = "hca-institution"
GCA_AGENCY = "gca-agency"

# Subject attributes a kind may name by their short name; any other by its dotted OID.
ATTRIBUTE_NAMES = {
    "serialNumber": NameOID.SERIAL_NUMBER,
    "CN": NameOID.COMMON_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
}

# The defaults, as configuration states them (see Config.CARD_KINDS): `anchors` is the name
# of the setting that holds the kind's anchors directory.
DEFAULT_CARD_KINDS: tuple[dict, ...] = (
    {
        "key": HCA_INSTITUTION,
        "anchors": "CARD_TRUST_ANCHORS_DIR",
        "policies": (INSTITUTION_CARD_POLICY.dotted_string,),
        "institution_code": "serialNumber",
        "institution_kinds": (),
    },
    {
        "key": GCA_AGENCY,
        "anchors": "CARD_GCA_TRUST_ANCHORS_DIR",
        "policies": (GPKI_CLASS3_POLICY.dotted_string,),
        "institution_code": "serialNumber",
        "institution_kinds": ("衛生局",),
    },
)


@dataclass(frozen=True)
class CardKind:
    """One accepted kind of card: whose it is, what it carries, whom it may verify."""

    key: str
    trust_anchors: Sequence[x509.Certificate]
    policies: frozenset[x509.ObjectIdentifier]
    code_attribute: x509.ObjectIdentifier
    institution_kinds: frozenset[str] = frozenset()

    def verifies(self, institution_kind: str | None) -> bool:
        """Whether a card of this kind may verify a filing of that kind of institution."""
        return not self.institution_kinds or institution_kind in self.institution_kinds


def attribute_oid(name: str) -> x509.ObjectIdentifier:
    """A subject attribute by short name (serialNumber, CN, O, OU) or dotted OID."""
    if name in ATTRIBUTE_NAMES:
        return ATTRIBUTE_NAMES[name]
    try:
        return x509.ObjectIdentifier(name)
    except ValueError:
        message = f"card kind: {name!r} is neither {sorted(ATTRIBUTE_NAMES)} nor an OID"
        raise ValueError(message) from None


def card_kinds(
    settings: Sequence[Mapping], anchors_of: Callable[[str], Sequence[x509.Certificate]]
) -> list[CardKind]:
    """The configured kinds; `anchors_of(setting)` gives the anchors of a kind's directory."""
    kinds = []
    for setting in settings:
        kinds.append(
            CardKind(
                key=setting["key"],
                trust_anchors=anchors_of(setting["anchors"]),
                policies=frozenset(x509.ObjectIdentifier(p) for p in setting["policies"]),
                code_attribute=attribute_oid(setting["institution_code"]),
                institution_kinds=frozenset(setting.get("institution_kinds", ())),
            )
        )
    return kinds


def hca_kind(trust_anchors: Sequence[x509.Certificate]) -> CardKind:
    """HCA's institution card trusted through these anchors (the single-kind default)."""
    return CardKind(
        HCA_INSTITUTION,
        trust_anchors,
        frozenset({INSTITUTION_CARD_POLICY}),
        NameOID.SERIAL_NUMBER,
    )
