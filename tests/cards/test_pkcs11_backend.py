"""The PKCS#11 backend against SoftHSM2, standing in for the HCA card vendor's module."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from card_helper.backends.base import ALGORITHM_RSA, NoReaderService, WrongPin
from card_helper.backends.pkcs11 import Pkcs11Backend, _is_signing_certificate
from portal.verification import verify_card_signature
from tests.cards.helper_client import portal_challenge, request, sign_body
from tests.cards.pki import INSTITUTION_CODE, key_usage


def test_status_lists_the_token_slot(softhsm_token):
    status = Pkcs11Backend(softhsm_token.module).status()
    assert status.backend == "pkcs11"
    assert status.card_present
    assert any(reader.name.startswith("SoftHSM") for reader in status.readers)


def test_the_token_signs_and_the_portal_accepts_it(softhsm_token, trust_anchors):
    challenge = portal_challenge()
    result = Pkcs11Backend(softhsm_token.module).sign(challenge, softhsm_token.pin)
    assert result.algorithm == ALGORITHM_RSA
    assert result.certificate_der == softhsm_token.identity.certificate_der
    verified = verify_card_signature(
        result.certificate_der,
        result.signature,
        challenge,
        trust_anchors=trust_anchors,
        expected_institution_code=INSTITUTION_CODE,
        now=datetime.now(UTC),
    )
    assert verified.institution_code == INSTITUTION_CODE


def test_a_wrong_pin_is_reported(softhsm_token):
    with pytest.raises(WrongPin) as caught:
        Pkcs11Backend(softhsm_token.module).sign(portal_challenge(), "000000")
    # PKCS#11 tells "final try" but not a count; SoftHSM2 tells neither.
    assert caught.value.tries_left is None
    assert "PIN 碼錯誤" in caught.value.message


def test_no_module_configured_is_no_reader_service():
    with pytest.raises(NoReaderService):
        Pkcs11Backend(None).status()


def test_a_module_that_cannot_be_loaded_is_no_reader_service(tmp_path):
    with pytest.raises(NoReaderService) as caught:
        Pkcs11Backend(str(tmp_path / "missing-vendor-module.so")).sign(portal_challenge(), "123456")
    assert "讀卡機服務沒有啟動" in caught.value.message


def test_the_helper_serves_the_pkcs11_backend(softhsm_token, helper_server, trust_anchors):
    helper = helper_server(backend=Pkcs11Backend(softhsm_token.module))
    status, _, body = request(helper.url)
    assert status == 200 and body["backend"] == "pkcs11" and body["card_present"]
    challenge = portal_challenge()
    status, _, body = request(
        helper.url, "POST", "/v1/sign", body=sign_body(softhsm_token.pin, challenge)
    )
    assert status == 200, body
    verified = verify_card_signature(
        base64.b64decode(body["certificate"]),
        base64.b64decode(body["signature"]),
        challenge,
        trust_anchors=trust_anchors,
        expected_institution_code=INSTITUTION_CODE,
        now=datetime.now(UTC),
    )
    assert verified.institution_code == INSTITUTION_CODE


def test_the_helper_has_the_token_sign_only_portal_challenges(softhsm_token, helper_server):
    helper = helper_server(backend=Pkcs11Backend(softhsm_token.module))
    for not_a_challenge in (
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        portal_challenge("https://evil.example"),
    ):
        status, _, body = request(
            helper.url, "POST", "/v1/sign", body=sign_body(softhsm_token.pin, not_a_challenge)
        )
        assert status == 400 and body["error"] == "not_a_challenge", not_a_challenge
    status, _, body = request(helper.url, "POST", "/v1/sign", body=sign_body(softhsm_token.pin))
    assert status == 200, body


def _certificate_with(usage: x509.KeyUsage | None) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "card")])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
    )
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    return builder.sign(key, hashes.SHA256())


def test_only_a_certificate_the_portal_accepts_is_chosen_to_sign():
    # The portal requires digitalSignature; a non-repudiation-only certificate would sign
    # and then be refused, so the helper must pass it over (as the encryption one).
    assert _is_signing_certificate(_certificate_with(key_usage(digital_signature=True)))
    assert _is_signing_certificate(_certificate_with(None))
    assert not _is_signing_certificate(_certificate_with(key_usage(non_repudiation=True)))
    encryption_only = key_usage(key_encipherment=True)
    assert not _is_signing_certificate(_certificate_with(encryption_only))
