"""Accepted card kinds: HCA institution cards and GCA government-agency cards, each judged
by its own anchors, policies and institution code, and only for the institutions it may
verify (a health bureau's card: its own bureau, no clinic, no other bureau)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.x509.oid import NameOID

from portal.verification import CardVerificationError, verify_card_signature
from portal.verification.card_kinds import (
    DEFAULT_CARD_KINDS,
    GCA_AGENCY,
    HCA_INSTITUTION,
    attribute_oid,
    card_kinds,
)
from tests.cards.helper_client import portal_challenge
from tests.cards.pki import (
    HEALTH_BUREAU_CODE,
    INSTITUTION_CODE,
    OTHER_HEALTH_BUREAU_CODE,
    CardIdentity,
    CardOptions,
    gca_card_options,
    issue_card,
    make_gca_authority,
)


@pytest.fixture(scope="module")
def gca():
    return make_gca_authority()


@pytest.fixture
def kinds(trust_anchors, gca):
    """The two default kinds, HCA's anchors and GCA's each in their own setting."""
    anchors = {
        "CARD_TRUST_ANCHORS_DIR": trust_anchors,
        "CARD_GCA_TRUST_ANCHORS_DIR": [gca.certificate],
    }
    return card_kinds(DEFAULT_CARD_KINDS, anchors.__getitem__)


def verify(identity: CardIdentity, kinds, code: str, institution_kind: str):
    challenge = portal_challenge()
    signature = identity.key.sign(challenge, padding.PKCS1v15(), hashes.SHA256())
    return verify_card_signature(
        identity.certificate_der,
        signature,
        challenge,
        card_kinds=kinds,
        expected_institution_code=code,
        institution_kind=institution_kind,
        now=datetime.now(UTC),
    )


def test_a_health_bureaus_agency_card_verifies_its_own_bureau(kinds, gca):
    card = issue_card(gca, gca_card_options())
    verified = verify(card, kinds, HEALTH_BUREAU_CODE, "衛生局")
    assert verified.card_kind == GCA_AGENCY
    assert verified.institution_code == HEALTH_BUREAU_CODE


def test_a_health_bureaus_card_verifies_no_other_bureau(kinds, gca):
    card = issue_card(gca, gca_card_options())
    with pytest.raises(CardVerificationError) as refused:
        verify(card, kinds, OTHER_HEALTH_BUREAU_CODE, "衛生局")
    assert refused.value.code == "institution_mismatch"


def test_an_agency_card_verifies_no_clinic_even_with_its_code(kinds, gca):
    card = issue_card(gca, gca_card_options(INSTITUTION_CODE))
    with pytest.raises(CardVerificationError) as refused:
        verify(card, kinds, INSTITUTION_CODE, "診所")
    assert refused.value.code == "kind_not_accepted"
    assert "只能驗證衛生局的申請" in refused.value.message


def test_an_institution_card_still_verifies_its_clinic(kinds, issuing_ca):
    verified = verify(issue_card(issuing_ca), kinds, INSTITUTION_CODE, "診所")
    assert verified.card_kind == HCA_INSTITUTION


def test_a_gca_card_without_the_gpki_policy_is_not_an_agency_card(kinds, gca):
    card = issue_card(gca, gca_card_options(policies=()))
    with pytest.raises(CardVerificationError) as refused:
        verify(card, kinds, HEALTH_BUREAU_CODE, "衛生局")
    assert refused.value.code == "not_agency_card"
    assert "不是政府單位憑證卡" in refused.value.message


def test_hcas_anchors_do_not_vouch_for_an_agency_policy_card(kinds, issuing_ca):
    # HCA issued it with the GPKI policy: judged as an HCA card, it lacks HCA's policy.
    card = issue_card(issuing_ca, gca_card_options())
    with pytest.raises(CardVerificationError) as refused:
        verify(card, kinds, HEALTH_BUREAU_CODE, "衛生局")
    assert refused.value.code == "not_institution_card"


def test_a_kind_without_anchors_trusts_no_card(trust_anchors, gca):
    anchors = {"CARD_TRUST_ANCHORS_DIR": trust_anchors, "CARD_GCA_TRUST_ANCHORS_DIR": []}
    kinds = card_kinds(DEFAULT_CARD_KINDS, anchors.__getitem__)
    with pytest.raises(CardVerificationError) as refused:
        verify(issue_card(gca, gca_card_options()), kinds, HEALTH_BUREAU_CODE, "衛生局")
    assert refused.value.code == "untrusted"


def test_a_kind_may_read_the_code_from_another_attribute(gca):
    # A configuration whose agency cards name the bureau's code in CN, not serialNumber.
    setting = {**DEFAULT_CARD_KINDS[1], "institution_code": "CN", "anchors": "GCA"}
    [kind] = card_kinds([setting], lambda name: [gca.certificate])
    card = issue_card(gca, gca_card_options(institution_code=None, holder=HEALTH_BUREAU_CODE))
    assert verify(card, [kind], HEALTH_BUREAU_CODE, "衛生局").institution_code == HEALTH_BUREAU_CODE
    # The default kind reads serialNumber, which this card lacks.
    default = card_kinds([{**DEFAULT_CARD_KINDS[1], "anchors": "GCA"}], lambda n: [gca.certificate])
    with pytest.raises(CardVerificationError) as refused:
        verify(card, default, HEALTH_BUREAU_CODE, "衛生局")
    assert refused.value.code == "not_agency_card"


def test_attributes_are_named_or_given_as_oids():
    assert attribute_oid("serialNumber") == NameOID.SERIAL_NUMBER
    assert attribute_oid("2.5.4.11") == x509.ObjectIdentifier("2.5.4.11")
    with pytest.raises(ValueError, match="neither"):
        attribute_oid("institution")


def test_the_default_kinds_are_hca_for_anyone_and_gca_for_health_bureaus(kinds):
    hca, gca_kind = kinds
    assert hca.verifies("診所") and hca.verifies("衛生局")
    assert gca_kind.verifies("衛生局") and not gca_kind.verifies("診所")
    assert CardOptions().policies != gca_card_options().policies
