"""The portal's check of a card's answer: chain, validity, usage, policy, institution, signature."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding

from portal.verification import (
    CardVerificationError,
    load_trust_anchors,
    verify_card_signature,
)
from tests.cards.pki import (
    INSTITUTION_CODE,
    OTHER_INSTITUTION_CODE,
    Authority,
    CardIdentity,
    CardOptions,
    issue_card,
    make_authority,
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
):
    challenge = challenge or secrets.token_bytes(32)
    return verify_card_signature(
        identity.certificate_der,
        signature if signature is not None else sign(identity, challenge),
        challenge,
        trust_anchors=anchors,
        expected_institution_code=institution,
        now=now or datetime.now(UTC),
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
    from cryptography import x509

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
    challenge = secrets.token_bytes(32)
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
    from portal.verification.services import _trust_anchors

    pem = serialization.Encoding.PEM
    (tmp_path / "root.pem").write_bytes(root_ca.certificate.public_bytes(pem))
    first = _trust_anchors(tmp_path)
    assert _trust_anchors(tmp_path) is first  # nothing changed: not read again
    (tmp_path / "issuing.pem").write_bytes(issuing_ca.certificate.public_bytes(pem))
    assert [a.subject for a in _trust_anchors(tmp_path)] == [issuing_ca.name, root_ca.name]
    (tmp_path / "issuing.pem").unlink()
    assert [a.subject for a in _trust_anchors(tmp_path)] == [root_ca.name]
