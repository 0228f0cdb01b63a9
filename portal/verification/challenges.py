"""What the portal asks an institution card to sign: a challenge in one fixed format.

The card helper signs nothing else, so a script on the portal's page cannot have the card
sign a document. The helper never imports the portal: card_helper/challenge.py checks the
same format, written down there too, and tests/cards/test_challenge_format.py holds the
two to each other. Version 1:

    bytes     content
    29        ASCII "HPA-PORTAL-CARD-CHALLENGE-v1:"
    1         purpose: 0x01, verifying a filing (a manager application or change)
    1         n, the length of the origin
    n         the portal's web origin, ASCII, lower case: "https://portal.example.gov.tw"
    32        random bytes: the nonce stored with the challenge, used once

The page hands it to the helper as base64, and the card signs its SHA-256. The origin is the
one the browser reached the portal at, which is the `Origin` the helper sees: the helper
refuses a challenge naming another. The portal stores only the nonce and builds the rest
again, from the origin the answer reaches it at, to check the signature.
"""

import base64
import secrets

PREFIX = b"HPA-PORTAL-CARD-CHALLENGE-v1:"
PURPOSE_VERIFY_FILING = 0x01
NONCE_BYTES = 32


def new_nonce() -> str:
    """A fresh random nonce, as stored: base64 of NONCE_BYTES random bytes."""
    return base64.b64encode(secrets.token_bytes(NONCE_BYTES)).decode("ascii")


def challenge_bytes(portal_origin: str, nonce: str) -> bytes:
    """The bytes the card signs for this nonce (base64, as stored), naming `portal_origin`."""
    origin = portal_origin.rstrip("/").lower().encode("ascii")
    random_part = base64.b64decode(nonce)
    if not 0 < len(origin) < 256 or len(random_part) != NONCE_BYTES:
        raise ValueError("an origin of 1 to 255 characters and a nonce of 32 bytes")
    return PREFIX + bytes([PURPOSE_VERIFY_FILING, len(origin)]) + origin + random_part


def encoded_challenge(portal_origin: str, nonce: str) -> str:
    """The challenge as the page hands it to the card helper: base64."""
    return base64.b64encode(challenge_bytes(portal_origin, nonce)).decode("ascii")
