"""The portal's check of a card's answer: chain, validity, usage, policy, institution, signature."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from portal.verification import (
    CardVerificationError,
    load_trust_anchors,
    verify_card_signature,
)
from portal.verification.revocation import Revocation, load_crls
from tests.cards.helper_client import portal_challenge
from tests.cards.pki import (
    INSTITUTION_CODE,
    OTHER_INSTITUTION_CODE,
    Authority,
    CardIdentity,
    CardOptions,
    crl_der,
    issue_card,
    issue_crl,
    make_authority,
    rsa_key,
)


def sign(identity: CardIdentity, challenge: bytes) -> bytes:
    """What the card does: PKCS#1 v1.5 with SHA-256 (ECDSA for EC keys)."""
    if isinstance(identity.key, ec.EllipticCurvePrivateKey):
        return identity.key.sign(challenge, ec.ECDSA(hashes.SHA256()))
    return identity.key.sign(challenge, padding.PKCS1v15(), hashes.SHA256())


def verify(
    identity: CardIdentity,
    anchors: list,
    *,
    signature: bytes | None = None,
    challenge: bytes = b"",
    institution: str = INSTITUTION_CODE,
    now: datetime | None = None,
    crls: list[x509.CertificateRevocationList] | None = None,
    require_crl: bool = False,
):
    challenge = challenge or portal_challenge()
    return verify_card_signature(
        identity.certificate_der,
        signature if signature is not None else sign(identity, challenge),
        challenge,
        trust_anchors=anchors,
        expected_institution_code=institution,
        now=now or datetime.now(UTC),
        crls=crls or [],
        require_crl=require_crl,
    )


def rejected(code: str, identity: CardIdentity, anchors: list, **kwargs) -> str:
    with pytest.raises(CardVerificationError) as caught:
        verify(identity, anchors, **kwargs)
    assert caught.value.code == code
    return caught.value.message


def test_a_valid_card_is_accepted(card_identity, trust_anchors):
    verified = verify(card_identity, trust_anchors)
    assert verified.institution_code == INSTITUTION_CODE
    assert "3501200000" in verified.subject
    assert verified.serial == format(card_identity.certificate.serial_number, "X")
    assert verified.not_after == card_identity.certificate.not_valid_after_utc


def test_a_card_issued_directly_by_the_root_is_accepted(root_ca, trust_anchors):
    assert verify(issue_card(root_ca), trust_anchors).institution_code == INSTITUTION_CODE


def test_the_issuing_ca_alone_is_enough_as_anchor(card_identity, issuing_ca):
    assert verify(card_identity, [issuing_ca.certificate]).institution_code == INSTITUTION_CODE


def test_an_ecdsa_card_is_accepted(issuing_ca, trust_anchors):
    card = issue_card(issuing_ca, CardOptions(key=ec.generate_private_key(ec.SECP256R1())))
    assert verify(card, trust_anchors).institution_code == INSTITUTION_CODE


def test_an_untrusted_ca_is_rejected(trust_anchors):
    stranger = make_authority("測試醫事憑證管理中心", key_label="stranger")  # same name, other key
    message = rejected("untrusted", issue_card(stranger), trust_anchors)
    assert "信任" in message


def test_a_card_is_rejected_when_only_the_root_of_its_issuer_is_configured(card_identity, root_ca):
    rejected("untrusted", card_identity, [root_ca.certificate])


def test_an_expired_card_is_rejected(issuing_ca, trust_anchors):
    expired = issue_card(
        issuing_ca, CardOptions(not_before=timedelta(days=-400), not_after=timedelta(days=-1))
    )
    assert "過期" in rejected("expired", expired, trust_anchors)


def test_a_card_not_yet_valid_is_rejected(card_identity, trust_anchors):
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    assert "生效" in rejected("not_yet_valid", card_identity, trust_anchors, now=two_days_ago)


def test_a_card_of_another_institution_is_rejected(issuing_ca, trust_anchors):
    other = issue_card(issuing_ca, CardOptions(institution_code=OTHER_INSTITUTION_CODE))
    message = rejected("institution_mismatch", other, trust_anchors)
    assert OTHER_INSTITUTION_CODE in message and INSTITUTION_CODE in message


def test_a_certificate_without_the_institution_card_policy_is_rejected(issuing_ca, trust_anchors):
    personal = issue_card(issuing_ca, CardOptions(policies=()))
    assert "不是醫事機構卡" in rejected("not_institution_card", personal, trust_anchors)


def test_a_certificate_with_another_policy_is_rejected(issuing_ca, trust_anchors):
    staff_card = x509.ObjectIdentifier("2.16.886.1.100.3.1.7")  # HCA's 醫事人員卡 policy
    card = issue_card(issuing_ca, CardOptions(policies=(staff_card,)))
    rejected("not_institution_card", card, trust_anchors)


def test_a_certificate_without_an_institution_code_is_rejected(issuing_ca, trust_anchors):
    rejected(
        "not_institution_card",
        issue_card(issuing_ca, CardOptions(institution_code=None)),
        trust_anchors,
    )


def test_an_encryption_certificate_is_rejected(issuing_ca, trust_anchors):
    encryption = issue_card(issuing_ca, CardOptions(digital_signature=False))
    rejected("key_usage", encryption, trust_anchors)


def test_a_tampered_signature_is_rejected(card_identity, trust_anchors):
    challenge = portal_challenge()
    signature = bytearray(sign(card_identity, challenge))
    signature[10] ^= 0x01
    message = rejected(
        "bad_signature",
        card_identity,
        trust_anchors,
        signature=bytes(signature),
        challenge=challenge,
    )
    assert "簽章驗證失敗" in message


def test_a_signature_over_another_challenge_is_rejected(card_identity, trust_anchors):
    rejected(
        "bad_signature",
        card_identity,
        trust_anchors,
        signature=sign(card_identity, b"yesterday's challenge"),
    )


def test_garbage_instead_of_a_certificate_is_rejected(trust_anchors):
    with pytest.raises(CardVerificationError) as caught:
        verify_card_signature(
            b"not a certificate",
            b"",
            b"challenge",
            trust_anchors=trust_anchors,
            expected_institution_code=INSTITUTION_CODE,
            now=datetime.now(UTC),
        )
    assert caught.value.code == "malformed"


def test_now_must_carry_a_timezone(card_identity, trust_anchors):
    with pytest.raises(ValueError):
        verify(card_identity, trust_anchors, now=datetime.now())


def test_trust_anchors_load_from_pem_bundles_and_der(
    tmp_path: Path, root_ca: Authority, issuing_ca: Authority
):
    pem = serialization.Encoding.PEM
    (tmp_path / "bundle.pem").write_bytes(root_ca.certificate.public_bytes(pem) * 2)
    (tmp_path / "issuing.cer").write_bytes(
        issuing_ca.certificate.public_bytes(serialization.Encoding.DER)
    )
    (tmp_path / "README.txt").write_text("not an anchor")
    anchors = load_trust_anchors(tmp_path)
    assert [a.subject for a in anchors] == [root_ca.name, root_ca.name, issuing_ca.name]


def test_a_broken_trust_anchor_file_is_reported(tmp_path: Path):
    (tmp_path / "broken.crt").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="broken.crt"):
        load_trust_anchors(tmp_path)


def test_the_portal_reads_the_anchors_again_only_when_a_file_changed(
    tmp_path: Path, root_ca: Authority, issuing_ca: Authority
):
    from portal.verification.trust_store import trust_anchors

    pem = serialization.Encoding.PEM
    (tmp_path / "root.pem").write_bytes(root_ca.certificate.public_bytes(pem))
    first = trust_anchors(tmp_path)
    assert trust_anchors(tmp_path) is first  # nothing changed: not read again
    (tmp_path / "issuing.pem").write_bytes(issuing_ca.certificate.public_bytes(pem))
    assert [a.subject for a in trust_anchors(tmp_path)] == [issuing_ca.name, root_ca.name]
    (tmp_path / "issuing.pem").unlink()
    assert [a.subject for a in trust_anchors(tmp_path)] == [root_ca.name]


# --- revocation: the CA's certificate revocation lists ------------------------------------

REVOKED_MESSAGE = "這張機構卡的憑證已被廢止，無法驗證。請向醫事憑證管理中心確認，或改用紙本審核。"
DAYS = timedelta(days=1)


def test_a_card_not_on_its_cas_current_crl_is_accepted(card_identity, issuing_ca, trust_anchors):
    crls = [issue_crl(issuing_ca, [issue_card(issuing_ca)])]  # another card is revoked
    verified = verify(card_identity, trust_anchors, crls=crls, require_crl=True)
    assert verified.revocation is Revocation.GOOD


@pytest.mark.parametrize("require_crl", [True, False])
def test_a_revoked_card_is_refused(issuing_ca, trust_anchors, require_crl):
    card = issue_card(issuing_ca)
    crls = [issue_crl(issuing_ca, [card])]
    message = rejected("revoked", card, trust_anchors, crls=crls, require_crl=require_crl)
    assert message == REVOKED_MESSAGE


def test_a_card_listed_on_an_out_of_date_crl_is_still_refused(issuing_ca, trust_anchors):
    card = issue_card(issuing_ca)
    stale = issue_crl(issuing_ca, [card], this_update=-3 * DAYS, next_update=-1 * DAYS)
    assert rejected("revoked", card, trust_anchors, crls=[stale]) == REVOKED_MESSAGE


def test_an_out_of_date_crl_vouches_for_nothing(card_identity, issuing_ca, trust_anchors):
    stale = issue_crl(issuing_ca, this_update=-3 * DAYS, next_update=-1 * DAYS)
    message = rejected(
        "revocation_unknown", card_identity, trust_anchors, crls=[stale], require_crl=True
    )
    assert message.startswith("目前無法確認這張機構卡的憑證是否已被廢止")
    assert "紙本審核" in message
    # Where no CRL is required, the card is accepted and marked unchecked.
    unchecked = verify(card_identity, trust_anchors, crls=[stale])
    assert unchecked.revocation is Revocation.UNKNOWN


def test_a_crl_not_yet_in_force_vouches_for_nothing(card_identity, issuing_ca, trust_anchors):
    early = issue_crl(issuing_ca, this_update=DAYS, next_update=2 * DAYS)
    rejected("revocation_unknown", card_identity, trust_anchors, crls=[early], require_crl=True)


def test_no_crl_at_all_is_refused_when_one_is_required(card_identity, trust_anchors):
    rejected("revocation_unknown", card_identity, trust_anchors, require_crl=True)
    assert verify(card_identity, trust_anchors).revocation is Revocation.UNKNOWN


def test_a_crl_with_a_bad_signature_is_ignored(card_identity, issuing_ca, trust_anchors):
    # The CA's name on it, another key's signature: it neither revokes a card...
    forged = issue_crl(issuing_ca, [card_identity], signing_key=rsa_key("forger"))
    assert verify(card_identity, trust_anchors, crls=[forged]).revocation is Revocation.UNKNOWN
    # ...nor vouches for one...
    forged_clean = issue_crl(issuing_ca, signing_key=rsa_key("forger"))
    rejected(
        "revocation_unknown", card_identity, trust_anchors, crls=[forged_clean], require_crl=True
    )
    # ...and next to the CA's own CRL it changes nothing.
    crls = [forged, issue_crl(issuing_ca)]
    verified = verify(card_identity, trust_anchors, crls=crls, require_crl=True)
    assert verified.revocation is Revocation.GOOD


def test_a_crl_of_another_ca_does_not_count(card_identity, root_ca, trust_anchors):
    # The root's own list (of the CAs under it), even with the card's serial number on it.
    crls = [issue_crl(root_ca, [card_identity])]
    rejected("revocation_unknown", card_identity, trust_anchors, crls=crls, require_crl=True)


def test_a_delta_crl_is_not_a_complete_list(card_identity, issuing_ca, trust_anchors):
    delta = issue_crl(issuing_ca, extensions=[(x509.DeltaCRLIndicator(1), True)])
    rejected("revocation_unknown", card_identity, trust_anchors, crls=[delta], require_crl=True)


def test_a_crl_with_an_unknown_critical_extension_is_not_used(
    card_identity, issuing_ca, trust_anchors
):
    unknown = x509.UnrecognizedExtension(x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00")
    crls = [issue_crl(issuing_ca, [card_identity], extensions=[(unknown, True)])]
    rejected("revocation_unknown", card_identity, trust_anchors, crls=crls, require_crl=True)


def test_a_partition_of_the_crl_covers_only_the_cards_that_name_it(issuing_ca, trust_anchors):
    url = "http://127.0.0.1/crl/part-1.crl"
    in_partition = issue_card(issuing_ca, CardOptions(crl_url=url))
    elsewhere = issue_card(issuing_ca, CardOptions(crl_url="http://127.0.0.1/crl/part-2.crl"))
    partition = x509.IssuingDistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)],
        relative_name=None,
        only_contains_user_certs=True,
        only_contains_ca_certs=False,
        only_some_reasons=None,
        indirect_crl=False,
        only_contains_attribute_certs=False,
    )
    crls = [issue_crl(issuing_ca, extensions=[(partition, True)])]
    verified = verify(in_partition, trust_anchors, crls=crls, require_crl=True)
    assert verified.revocation is Revocation.GOOD
    rejected("revocation_unknown", elsewhere, trust_anchors, crls=crls, require_crl=True)


def test_crls_load_from_pem_and_der_and_a_broken_file_is_skipped(
    tmp_path: Path, root_ca: Authority, issuing_ca: Authority, caplog
):
    (tmp_path / "issuing.crl").write_bytes(crl_der(issue_crl(issuing_ca)))
    pem = issue_crl(root_ca).public_bytes(serialization.Encoding.PEM)
    (tmp_path / "root.pem").write_bytes(pem)
    (tmp_path / "partial.crl").write_bytes(crl_der(issue_crl(issuing_ca))[:100])
    (tmp_path / "README.txt").write_text("not a CRL")
    assert [crl.issuer for crl in load_crls(tmp_path)] == [issuing_ca.name, root_ca.name]
    assert "partial.crl: not a certificate revocation list" in caplog.text
    assert load_crls(tmp_path / "missing") == []


def test_the_portal_reads_the_crls_again_only_when_a_file_changed(
    tmp_path: Path, issuing_ca: Authority
):
    from portal.verification.trust_store import revocation_lists

    (tmp_path / "issuing.crl").write_bytes(crl_der(issue_crl(issuing_ca)))
    first = revocation_lists(tmp_path)
    assert revocation_lists(tmp_path) is first  # nothing changed: not read again
    newer = issue_crl(issuing_ca, [issue_card(issuing_ca)], this_update=timedelta(minutes=-1))
    (tmp_path / "issuing.crl").write_bytes(crl_der(newer))
    assert [crl.last_update_utc for crl in revocation_lists(tmp_path).crls] == [
        newer.last_update_utc
    ]
