"""The only thing the helper lets the card sign: a challenge in the portal's format.

Without this, any script running on the allowed origin (an injected one, a compromised
page) could send the helper the bytes of a document and get back the institution's
signature over it. The portal's challenges have one fixed structure (version 1):

    bytes     content
    29        ASCII "HPA-PORTAL-CARD-CHALLENGE-v1:"
    1         purpose: 0x01, verifying a filing (a manager application or change)
    1         n, the length of the origin
    n         the portal's web origin, ASCII, lower case: "https://portal.example.gov.tw"
    32        random bytes

and nothing after them. The helper signs a challenge only if it has exactly this shape, a
purpose it knows, and names the origin the request comes from (the browser's `Origin`,
itself one the helper was started for). A document cannot start with that prefix and still
be the document; and the card signs SHA-256 of the whole challenge, so even the 32 bytes a
caller chooses freely can never stand for a document's hash.

The helper never imports the portal; the portal's side is portal/verification/challenges.py,
and the tests hold the two to each other. A new format gets a new version in the prefix.
"""

from __future__ import annotations

from card_helper.backends.base import CardError

PREFIX = b"HPA-PORTAL-CARD-CHALLENGE-v1:"
PURPOSES = frozenset({0x01})  # 0x01: verifying a filing
NONCE_BYTES = 32


class NotAChallenge(CardError):
    """What the page sent is not a portal challenge for this origin: nothing is signed."""

    code = "not_a_challenge"
    http_status = 400
    message = (
        "讀卡程式只簽署入口網站發出的驗證碼，這次收到的資料不是，已拒絕簽章。"
        "請重新整理入口網站的驗證網頁後再試一次。"
    )


def check_challenge(challenge: bytes, origin: str) -> None:
    """Raise NotAChallenge unless `challenge` is a portal challenge naming `origin`."""
    if not challenge.startswith(PREFIX):
        raise NotAChallenge("no challenge prefix")
    rest = challenge[len(PREFIX) :]
    if len(rest) < 2 or rest[0] not in PURPOSES:
        raise NotAChallenge("unknown purpose")
    origin_length = rest[1]
    if len(rest) != 2 + origin_length + NONCE_BYTES:
        raise NotAChallenge(f"{len(challenge)} bytes for an origin of {origin_length}")
    named = rest[2 : 2 + origin_length]
    if named != origin.lower().encode("ascii", errors="replace"):
        # The origin named is the page's, not a secret; the log may say which it was.
        raise NotAChallenge(f"names {named.decode('ascii', errors='replace')!r}, not {origin!r}")
