"""Client secrets: random, shown once, stored as argon2id hashes like passwords.

A relying party presents its secret at every token request. argon2id costs tens of
milliseconds by design, so each process remembers, for a few minutes, the SHA-256 of a
secret it has verified against the hash stored *now*: a rotated secret (new hash) is
never taken from the memory, and the memory holds nothing a database copy would lack.
"""

import hashlib
import hmac
import secrets
import threading
import time

from portal.security.passwords import hash_password, verify_password

SECRET_BYTES = 32
REMEMBER_SECONDS = 300
_verified: dict[tuple[str, str], tuple[str, float]] = {}
_lock = threading.Lock()


def new_secret() -> tuple[str, str]:
    """A new secret and its hash: the secret is shown once, the hash stored."""
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return secret, hash_password(secret)


def verify_client_secret(client, presented: str) -> bool:
    """Whether the presented secret is the client's current one."""
    if not presented or len(presented) > 200:
        return False
    digest = hashlib.sha256(presented.encode()).hexdigest()
    key = (client.client_id, client.secret_hash)
    now = time.monotonic()
    with _lock:
        remembered = _verified.get(key)
    if remembered and remembered[1] > now and hmac.compare_digest(remembered[0], digest):
        return True
    if not verify_password(client.secret_hash, presented):
        return False
    with _lock:
        _verified[key] = (digest, now + REMEMBER_SECONDS)
    return True
