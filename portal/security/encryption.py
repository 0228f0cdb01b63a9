"""Symmetric encryption of small secrets at rest (ID numbers, TOTP seeds).

Fernet keys come from ID_ENCRYPTION_KEYS: the first encrypts, all decrypt, so keys can be
rotated by putting a new one first.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


def cipher() -> MultiFernet:
    """Every configured key, the newest first."""
    keys = current_app.config["ID_ENCRYPTION_KEYS"].split(",")
    return MultiFernet([Fernet(key.strip().encode()) for key in keys])


def encrypt_text(plain: str) -> str:
    """The text encrypted with the current key."""
    return cipher().encrypt(plain.encode()).decode()


def decrypt_text(token: str) -> str:
    """The text behind an encrypted value; raises ValueError if no key opens it."""
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise ValueError("value cannot be decrypted with the configured keys") from error
