"""ID numbers at rest: encrypted, found through a keyed hash, shown masked.

The cipher text can be decrypted by whoever holds the encryption keys (for reviews and
printed forms); the digest lets the portal find an account by ID number without decrypting
every row, and a different key for it means a leaked digest column alone reveals nothing.
"""

import hashlib
import hmac

from flask import current_app

from portal.identity.identifiers import mask_national_id, normalize_national_id
from portal.security.encryption import decrypt_text, encrypt_text

__all__ = [
    "decrypt_national_id",
    "encrypt_national_id",
    "mask_national_id",
    "national_id_digest",
    "national_id_matches",
]


def encrypt_national_id(national_id: str) -> str:
    """The ID number encrypted with the current key."""
    return encrypt_text(normalize_national_id(national_id))


def decrypt_national_id(token: str) -> str:
    """The ID number behind an encrypted value; raises ValueError if no key opens it."""
    return decrypt_text(token)


def national_id_digest(national_id: str, key: str | None = None) -> str:
    """A keyed hash of the normalised ID number, for look-ups (the current key unless given)."""
    secret = (key or current_app.config["ID_HASH_KEY"]).encode()
    message = normalize_national_id(national_id).encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def national_id_matches(stored_digest: str, national_id: str) -> bool:
    """Whether a stored digest is this ID number's, under the current or previous hash key.

    The previous key (ID_HASH_KEY_PREVIOUS) is set only while `flask rotate-id-hash-key`
    recomputes the digests, so that nobody's look-up fails halfway through.
    """
    keys = [current_app.config["ID_HASH_KEY"], current_app.config.get("ID_HASH_KEY_PREVIOUS")]
    return any(
        hmac.compare_digest(stored_digest, national_id_digest(national_id, key))
        for key in keys
        if key
    )
