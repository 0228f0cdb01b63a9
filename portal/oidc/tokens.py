"""Codes and tokens in the database: issued, exchanged once, rotated, revoked.

Every exchange claims its row with one conditional UPDATE (`… WHERE used_at IS NULL`), so
of two requests presenting the same code or refresh token at once exactly one wins, on
PostgreSQL (the row lock makes the second re-check the condition) as on SQLite (one writer
at a time). The loser is a reuse: the tokens the code gave, or the whole family of the
refresh token, are revoked. The winner keeps its transaction open until its new tokens are
stored (the token view commits), so a loser waiting on the row sees them and revokes them.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from portal.accounts.models import Account
from portal.db_types import utcnow
from portal.extensions import db
from portal.oidc.models import OidcAuthorizationCode, OidcClient, OidcLogin, OidcToken

CODE_SECONDS = 60
# The longest nonce kept with a code (the column's length).
NONCE_MAX = 200


@dataclass(frozen=True)
class Person:
    """Authlib's "user": the account, and whether this client may have the ID number."""

    account: Account
    may_receive_national_id: bool

    def get_user_id(self) -> int:
        """The account's id."""
        return self.account.id


@dataclass(frozen=True)
class Grantee:
    """Who an authorization request is granted to, and how and when they signed in."""

    account: Account
    login: OidcLogin
    auth_time: datetime
    auth_methods: str


def digest(value: str) -> str:
    """The SHA-256 a code or token is stored and found by."""
    return hashlib.sha256(value.encode()).hexdigest()


def save_code(code: str, client: OidcClient, grantee: Grantee, payload) -> None:
    """Store a new code with what the token request must match; commits."""
    now = utcnow()
    db.session.add(
        OidcAuthorizationCode(
            code_digest=digest(code),
            client_id=client.id,
            account_id=grantee.account.id,
            login_id=grantee.login.id,
            redirect_uri=payload.redirect_uri,
            scope=client.get_allowed_scope(payload.scope),
            nonce=payload.data.get("nonce"),
            code_challenge=payload.data["code_challenge"],
            code_challenge_method=payload.data.get("code_challenge_method") or "S256",
            auth_time=grantee.auth_time,
            amr=grantee.auth_methods,
            created_at=now,
            expires_at=now + timedelta(seconds=CODE_SECONDS),
        )
    )
    db.session.commit()


def nonce_used(client_id: str, nonce: str) -> bool:
    """Whether a code was already issued to this client with this nonce (a replay)."""
    return (
        db.session.scalar(
            select(OidcAuthorizationCode.id)
            .join(OidcClient)
            .where(OidcClient.client_id == client_id, OidcAuthorizationCode.nonce == nonce)
            .limit(1)
        )
        is not None
    )


def claim_code(code: str, client: OidcClient) -> OidcAuthorizationCode | None:
    """The code if this exchange is its first and it is still fresh (the caller commits).

    A code presented again (by anyone) revokes every token its first exchange gave.
    """
    now = utcnow()
    item = db.session.scalar(
        select(OidcAuthorizationCode).where(OidcAuthorizationCode.code_digest == digest(code))
    )
    if item is None or item.client_id != client.id:
        return None
    claimed = db.session.execute(
        update(OidcAuthorizationCode)
        .where(OidcAuthorizationCode.id == item.id, OidcAuthorizationCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        revoke_where(OidcToken.code_id == item.id)
        db.session.commit()
        return None
    return item if item.expires_at > now else None


def save_token(token: dict, client: OidcClient, person: Person, request) -> None:
    """Store a newly issued token pair, in the family of the code or refresh token it came
    from (the caller commits)."""
    now = utcnow()
    config = current_app.config
    code = getattr(request, "authorization_code", None)
    previous = getattr(request, "refresh_token", None)
    if code is not None:
        family, login_id, code_id = secrets.token_hex(16), code.login_id, code.id
    else:
        family, login_id, code_id = previous.family_id, previous.login_id, previous.code_id
    refresh = token.get("refresh_token")
    db.session.add(
        OidcToken(
            client_id=client.id,
            account_id=person.account.id,
            login_id=login_id,
            family_id=family,
            code_id=code_id,
            access_token_digest=digest(token["access_token"]),
            refresh_token_digest=digest(refresh) if refresh else None,
            scope=token.get("scope", ""),
            issued_at=now,
            expires_at=now + timedelta(seconds=int(token["expires_in"])),
            refresh_expires_at=(
                now + timedelta(hours=config["OIDC_REFRESH_TOKEN_HOURS"]) if refresh else None
            ),
        )
    )
    db.session.flush()


def claim_refresh_token(refresh_token: str, client: OidcClient) -> OidcToken | None:
    """The token row if this is the refresh token's first exchange (the caller commits).

    A refresh token exchanged before (or being exchanged at this moment) is a reuse: a copy
    is in someone else's hands, so the whole family is revoked and neither copy works.
    """
    now = utcnow()
    item = db.session.scalar(
        select(OidcToken).where(OidcToken.refresh_token_digest == digest(refresh_token))
    )
    if item is None or item.client_id != client.id:
        return None
    if item.revoked_at is not None and item.refresh_used_at is None:
        return None  # revoked (sign-out, revoked access): refused, nothing more to do
    claimed = db.session.execute(
        update(OidcToken)
        .where(
            OidcToken.id == item.id,
            OidcToken.refresh_used_at.is_(None),
            OidcToken.revoked_at.is_(None),
        )
        .values(refresh_used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        revoke_where(OidcToken.family_id == item.family_id, OidcToken.client_id == client.id)
        db.session.commit()
        return None
    if item.refresh_expires_at is None or item.refresh_expires_at <= now:
        return None
    return item


def retire_rotated(item: OidcToken) -> None:
    """The exchanged pair stops working: its access token too (the caller commits)."""
    revoke_where(OidcToken.id == item.id)


def access_token(value: str) -> OidcToken | None:
    """The token row of a presented access token."""
    return db.session.scalar(
        select(OidcToken).where(OidcToken.access_token_digest == digest(value))
    )


def revoke_where(*conditions) -> int:
    """Revoke the live tokens matching the conditions (no commit); how many."""
    return db.session.execute(
        update(OidcToken)
        .where(OidcToken.revoked_at.is_(None), *conditions)
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
