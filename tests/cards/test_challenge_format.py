"""The card challenge's format on both sides: what the portal issues, the helper signs, and
nothing else (portal/verification/challenges.py, card_helper/challenge.py)."""

import base64

import pytest

from card_helper import challenge as helper
from card_helper.challenge import NotAChallenge, check_challenge
from portal.verification import challenges as portal
from portal.verification.challenges import challenge_bytes, encoded_challenge, new_nonce

ORIGIN = "https://portal.example.gov.tw"


def test_both_sides_know_the_same_format():
    assert helper.PREFIX == portal.PREFIX == b"HPA-PORTAL-CARD-CHALLENGE-v1:"
    assert helper.NONCE_BYTES == portal.NONCE_BYTES == 32
    assert portal.PURPOSE_VERIFY_FILING in helper.PURPOSES


def test_the_layout_is_prefix_purpose_origin_and_nonce():
    nonce = base64.b64encode(bytes(range(32))).decode()
    assert challenge_bytes("http://127.0.0.1:5000", nonce) == (
        b"HPA-PORTAL-CARD-CHALLENGE-v1:" + b"\x01\x15" + b"http://127.0.0.1:5000" + bytes(range(32))
    )
    assert base64.b64decode(encoded_challenge(ORIGIN, nonce)) == challenge_bytes(ORIGIN, nonce)


def test_the_helper_accepts_what_the_portal_issues():
    check_challenge(challenge_bytes(ORIGIN, new_nonce()), ORIGIN)
    # The page's origin as written in a URL, and as browsers send it, name the same one.
    check_challenge(challenge_bytes("HTTPS://Portal.Example.gov.tw/", new_nonce()), ORIGIN)


def test_nonces_are_32_random_bytes_and_fit_their_column():
    nonces = {new_nonce() for _ in range(100)}
    assert len(nonces) == 100
    assert all(len(base64.b64decode(n)) == 32 and len(n) <= 64 for n in nonces)


A_PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@pytest.mark.parametrize(
    "data",
    [
        bytes(range(32)),
        A_PDF,
        b"",
        b"HPA-PORTAL-CARD-CHALLENGE-v1:",
        b"HPA-PORTAL-CARD-CHALLENGE-v1:\x01",
        b"HPA-PORTAL-CARD-CHALLENGE-v1:\x01" + bytes([len(ORIGIN)]) + ORIGIN.encode() + A_PDF,
        b"HPA-PORTAL-CARD-CHALLENGE-v1 \x01" + bytes([len(ORIGIN)]) + ORIGIN.encode() + bytes(32),
        b"HPA-PORTAL-CARD-CHALLENGE-v1:\x00" + bytes([len(ORIGIN)]) + ORIGIN.encode() + bytes(32),
        b"HPA-PORTAL-CARD-CHALLENGE-v1:\x01" + bytes([len(ORIGIN)]) + ORIGIN.encode() + bytes(31),
        b"HPA-PORTAL-CARD-CHALLENGE-v1:\x01\xff" + ORIGIN.encode() + bytes(32),
        challenge_bytes("https://evil.example", new_nonce()),
        challenge_bytes(ORIGIN + ".evil.example", new_nonce()),
    ],
    ids=[
        "random bytes",
        "a PDF",
        "nothing",
        "the prefix alone",
        "no origin",
        "a PDF after the header",
        "a near-miss prefix",
        "purpose 0",
        "a short nonce",
        "an origin length past the end",
        "another origin",
        "an origin that starts like ours",
    ],
)
def test_the_helper_refuses_anything_else(data):
    with pytest.raises(NotAChallenge) as caught:
        check_challenge(data, ORIGIN)
    assert caught.value.code == "not_a_challenge" and caught.value.http_status == 400


def test_the_portal_builds_no_challenge_it_could_not_describe():
    with pytest.raises(ValueError):
        challenge_bytes("https://" + "a" * 250 + ".example", new_nonce())
    with pytest.raises(ValueError):
        challenge_bytes(ORIGIN, base64.b64encode(bytes(16)).decode())
