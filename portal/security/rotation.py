"""Rotating the keys that protect ID numbers at rest.

Encryption (ID_ENCRYPTION_KEYS, newest first): every stored value is re-encrypted with the
newest key, a batch of rows per transaction so that a national table never sits locked;
afterwards no value needs an older key, which may then be dropped from the list.

Keyed hash (ID_HASH_KEY): a digest cannot be turned into another, so each is computed
again from the decrypted ID number. While that runs (minutes for 100,000 accounts), the
previous key is still given as ID_HASH_KEY_PREVIOUS and look-ups accept either digest
(national_ids.national_id_matches); once the command reports none left, it is removed.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import select

from portal.accounts.models import Account
from portal.extensions import db
from portal.oidc.models import OidcSigningKey
from portal.security.encryption import cipher
from portal.security.national_ids import decrypt_national_id, national_id_digest

DEFAULT_BATCH = 500

# Every column that holds a value encrypted with ID_ENCRYPTION_KEYS.
ENCRYPTED_COLUMNS = (
    (Account, "national_id_encrypted"),
    (Account, "totp_secret_encrypted"),
    (OidcSigningKey, "private_jwk_encrypted"),
)


@dataclass
class RotationReport:
    """What a rotation changed, per column, and what still needs an older key."""

    changed: dict[str, int]
    left_behind: int


def _batches(model, batch: int) -> Iterator[list]:
    """The table's rows in id order, one committed batch at a time.

    Each batch is locked until its commit (PostgreSQL), so that a value someone changes
    meanwhile (a new TOTP seed) is not overwritten with the old one re-encrypted.
    """
    last_id = 0
    while True:
        rows = db.session.scalars(
            select(model)
            .where(model.id > last_id)
            .order_by(model.id)
            .limit(batch)
            .with_for_update()
        ).all()
        if not rows:
            return
        yield rows
        db.session.commit()
        last_id = rows[-1].id


def _newest_key() -> Fernet:
    return Fernet(current_app.config["ID_ENCRYPTION_KEYS"].split(",")[0].strip().encode())


def _opens_with(key: Fernet, token: str) -> bool:
    try:
        key.decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def rotate_encryption(batch: int = DEFAULT_BATCH) -> RotationReport:
    """Re-encrypt every stored secret with the newest key; count what the newest cannot open."""
    rotating, newest = cipher(), _newest_key()
    changed: dict[str, int] = {}
    for model, column in ENCRYPTED_COLUMNS:
        label = f"{model.__tablename__}.{column}"
        changed[label] = 0
        for rows in _batches(model, batch):
            for row in rows:
                token = getattr(row, column)
                if token and not _opens_with(newest, token):
                    setattr(row, column, rotating.rotate(token.encode()).decode())
                    changed[label] += 1
    return RotationReport(changed, count_needing_old_keys())


def count_needing_old_keys() -> int:
    """How many stored values the newest key alone cannot open."""
    newest = _newest_key()
    return sum(
        1
        for model, column in ENCRYPTED_COLUMNS
        for token in db.session.scalars(select(getattr(model, column)))
        if token and not _opens_with(newest, token)
    )


def rotate_digests(batch: int = DEFAULT_BATCH) -> RotationReport:
    """Compute every account's ID-number digest again with the current ID_HASH_KEY."""
    changed = 0
    for rows in _batches(Account, batch):
        for account in rows:
            digest = national_id_digest(decrypt_national_id(account.national_id_encrypted))
            if account.national_id_digest != digest:
                account.national_id_digest = digest
                changed += 1
    return RotationReport({"accounts.national_id_digest": changed}, count_stale_digests())


def count_stale_digests() -> int:
    """How many accounts' digests were not made with the current ID_HASH_KEY."""
    rows = db.session.execute(
        select(Account.national_id_encrypted, Account.national_id_digest)
    ).all()
    return sum(
        1
        for encrypted, digest in rows
        if national_id_digest(decrypt_national_id(encrypted)) != digest
    )
