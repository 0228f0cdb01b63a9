"""A small HTTP client for the helper's API, as the portal page's fetch() would call it, and
the challenges the page hands it."""

from __future__ import annotations

import base64
import http.client
import json
from urllib.parse import urlsplit

from portal.verification.challenges import challenge_bytes, new_nonce
from tests.cards.stack import PORTAL_ORIGIN


def request(
    url: str,
    method: str = "GET",
    path: str = "/v1/status",
    *,
    origin: str | None = PORTAL_ORIGIN,
    body: object = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], object]:
    """One HTTP request to the helper: (status, headers, parsed JSON body or None)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    all_headers = dict(headers or {})
    if origin is not None:
        all_headers["Origin"] = origin
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    try:
        connection.request(method, path, body=payload, headers=all_headers)
        response = connection.getresponse()
        raw = response.read()
        return (
            response.status,
            {k.lower(): v for k, v in response.getheaders()},
            json.loads(raw) if raw else None,
        )
    finally:
        connection.close()


def portal_challenge(origin: str = PORTAL_ORIGIN) -> bytes:
    """A fresh challenge as the portal issues it, naming `origin`."""
    return challenge_bytes(origin, new_nonce())


def sign_body(pin: str, challenge: bytes | None = None) -> dict[str, str]:
    """The JSON the page posts to /v1/sign (a fresh portal challenge unless told)."""
    return {
        "challenge": base64.b64encode(challenge or portal_challenge()).decode(),
        "pin": pin,
    }
