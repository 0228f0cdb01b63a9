"""The provider's signing keys (joserfc): one active key signs, retiring keys stay published.

Keys are RSA (2048 bits) for RS256, the one algorithm OpenID Connect requires every
provider and relying party to support (Discovery 1.0 lists it as a MUST). Private keys are
kept encrypted with the ID-number keys (ID_ENCRYPTION_KEYS). A rotation makes a new key
active and the old one retiring: still in the JWKS, so ID tokens and logout tokens it
signed keep verifying at the relying parties until they expire and every JWKS cache has
seen the new key; after OIDC_KEY_RETIRE_HOURS the next rotation drops it.
"""

import json
from datetime import timedelta
from functools import lru_cache

from flask import current_app
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portal.db_types import utcnow
from portal.extensions import db
from portal.oidc.models import KeyState, OidcSigningKey
from portal.security.encryption import decrypt_text, encrypt_text

ALGORITHM = "RS256"
KEY_BITS = 2048


def _new_key() -> OidcSigningKey:
    key = RSAKey.generate_key(KEY_BITS, parameters={"use": "sig", "alg": ALGORITHM}, auto_kid=True)
    return OidcSigningKey(
        kid=key.kid,
        alg=ALGORITHM,
        private_jwk_encrypted=encrypt_text(json.dumps(key.as_dict(private=True))),
        state=KeyState.ACTIVE,
        active_slot=1,
    )


@lru_cache(maxsize=16)
def _imported(kid: str, encrypted: str) -> RSAKey:
    """The private key, decrypted and parsed once per process (parsing checks the primes,
    which takes milliseconds; keys never change)."""
    return RSAKey.import_key(json.loads(decrypt_text(encrypted)))


def signing_key() -> RSAKey:
    """The active key, created on first use when there is none; commits only then."""
    row = db.session.execute(
        select(OidcSigningKey.kid, OidcSigningKey.private_jwk_encrypted).where(
            OidcSigningKey.active_slot == 1
        )
    ).first()
    if row is None:
        row = _create_first_key()
    return _imported(row.kid, row.private_jwk_encrypted)


def _create_first_key():
    """Make the first key; of two processes doing so at once, the unique slot keeps one."""
    db.session.add(_new_key())
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
    return db.session.execute(
        select(OidcSigningKey.kid, OidcSigningKey.private_jwk_encrypted).where(
            OidcSigningKey.active_slot == 1
        )
    ).one()


def published_keys() -> KeySet:
    """The public keys relying parties verify with: the active one and those retiring."""
    rows = db.session.execute(
        select(OidcSigningKey.kid, OidcSigningKey.private_jwk_encrypted)
        .where(OidcSigningKey.state.in_((KeyState.ACTIVE, KeyState.RETIRING)))
        .order_by(OidcSigningKey.id.desc())
    ).all()
    return KeySet([_imported(row.kid, row.private_jwk_encrypted) for row in rows])


def jwks() -> dict:
    """The JWKS document: public halves only, each with its kid, use and alg."""
    signing_key()  # a provider that never signed yet still publishes the key it will use
    return published_keys().as_dict(private=False)


def rotate() -> tuple[OidcSigningKey, list[str]]:
    """Make a new key active; the old one retires; long-retiring ones leave the JWKS.

    Returns the new key and the kids dropped from the JWKS. Commits.
    """
    now = utcnow()
    db.session.execute(
        update(OidcSigningKey)
        .where(OidcSigningKey.state == KeyState.ACTIVE)
        .values(state=KeyState.RETIRING, active_slot=None, retiring_at=now)
    )
    db.session.flush()
    key = _new_key()
    db.session.add(key)
    cutoff = now - timedelta(hours=current_app.config["OIDC_KEY_RETIRE_HOURS"])
    dropped = list(
        db.session.scalars(
            select(OidcSigningKey.kid).where(
                OidcSigningKey.state == KeyState.RETIRING, OidcSigningKey.retiring_at <= cutoff
            )
        )
    )
    if dropped:
        db.session.execute(
            update(OidcSigningKey)
            .where(OidcSigningKey.kid.in_(dropped))
            .values(state=KeyState.RETIRED)
        )
    db.session.commit()
    return key, dropped


def key_summary() -> list[OidcSigningKey]:
    """Every key, newest first, for the command's report."""
    return list(db.session.scalars(select(OidcSigningKey).order_by(OidcSigningKey.id.desc())))
