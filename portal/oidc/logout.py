"""Back-channel logout: telling relying parties that a person's portal session is over.

OpenID Connect Back-Channel Logout 1.0, written on joserfc (Authlib has none). When a
browser signs out, a password changes, an account is deactivated or access to a subsystem
is revoked, the relying parties the person signed in to stop holding a session of theirs:
their sign-ins here end, their tokens are revoked, and a logout token for each is queued in
the same transaction as the decision. `flask worker` POSTs the tokens, as it sends the
outbox's mail: committed decisions only, retried with backoff when a subsystem is down,
and no request waits on a subsystem's server.
"""

import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from joserfc import jwt
from sqlalchemy import select, update

from portal.accounts.models import Account
from portal.db_types import utcnow
from portal.extensions import db
from portal.locking import for_update
from portal.oidc import keys
from portal.oidc.models import DeliveryState, LogoutDelivery, OidcClient, OidcLogin, OidcToken
from portal.oidc.tokens import revoke_where

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# A logout token is good for this long after it is made: it is made just before sending.
TOKEN_SECONDS = 120


def _end_logins(*conditions, reason: str) -> int:
    """End the live relying-party sign-ins matching the conditions; revoke their tokens and
    queue their logout tokens (no commit). How many ended."""
    rows = db.session.execute(
        select(OidcLogin, Account.subject)
        .join(Account, Account.id == OidcLogin.account_id)
        .where(OidcLogin.ended_at.is_(None), *conditions)
    ).all()
    now = utcnow()
    for login, subject in rows:
        login.ended_at = now
        revoke_where(OidcToken.login_id == login.id)
        if login.client.backchannel_logout_uri:
            db.session.add(
                LogoutDelivery(
                    client_id=login.client_id, subject=subject, sid=login.sid, reason=reason
                )
            )
    return len(rows)


def session_ended(user_session_id: int, reason: str = "sign_out") -> int:
    """One browser signed out: the subsystems it signed in to are told."""
    return _end_logins(OidcLogin.user_session_id == user_session_id, reason=reason)


def account_sessions_ended(account_id: int, reason: str) -> int:
    """Every session of the person ends (password changed, account deactivated)."""
    return _end_logins(OidcLogin.account_id == account_id, reason=reason)


def subsystem_access_revoked(account_id: int, subsystem_id: int) -> int:
    """The person may no longer use the subsystem: its clients' sessions of theirs end."""
    clients = select(OidcClient.id).where(OidcClient.subsystem_id == subsystem_id)
    ended = _end_logins(
        OidcLogin.account_id == account_id, OidcLogin.client_id.in_(clients), reason="revoked"
    )
    # Tokens of sign-ins already ended (a browser gone) are revoked too.
    revoke_where(OidcToken.account_id == account_id, OidcToken.client_id.in_(clients))
    return ended


def sign_out_browser() -> None:
    """Sign this browser out of the portal (RP-initiated logout)."""
    from portal.auth.session import sign_out
    from portal.rendering import request_origin

    sign_out(request_origin())


def logout_token(delivery: "ClaimedDelivery") -> str:
    """The signed logout token for one relying party's session of the person."""
    now = int(time.time())
    key = keys.signing_key()
    claims = {
        "iss": current_app.config["EXTERNAL_BASE_URL"].rstrip("/"),
        "aud": delivery.client_id,
        "sub": delivery.subject,
        "sid": delivery.sid,
        "iat": now,
        "exp": now + TOKEN_SECONDS,
        "jti": secrets.token_urlsafe(16),
        "events": {LOGOUT_EVENT: {}},
    }
    header = {"alg": keys.ALGORITHM, "kid": key.kid, "typ": "logout+jwt"}
    return jwt.encode(header, claims, key, algorithms=[keys.ALGORITHM])


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery one worker took; plain values read before the claim was committed."""

    id: int
    client_id: str
    uri: str
    subject: str
    sid: str
    attempts: int


@dataclass
class LogoutReport:
    """What one pass did."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0


def deliver_due_logouts() -> LogoutReport:
    """POST the logout tokens due when the pass starts, one claim at a time."""
    report = LogoutReport()
    started = utcnow()
    failed_hosts: set[str] = set()
    while (claimed := _claim_next(started, failed_hosts)) is not None:
        try:
            _post(claimed)
        except OSError as failure:
            state = _record_failure(claimed, str(failure))
            report.dead += state is DeliveryState.DEAD
            report.retrying += state is DeliveryState.QUEUED
            # That subsystem is probably down: its other notices wait for the next pass.
            failed_hosts.add(urllib.parse.urlsplit(claimed.uri).netloc)
            continue
        _record(claimed.id, state=DeliveryState.SENT, sent_at=utcnow(), last_error=None)
        report.sent += 1
    return report


def _claim_next(due_by, skipped_hosts: set[str]) -> ClaimedDelivery | None:
    """Take the oldest due delivery for a host that has not failed in this pass; commits."""
    candidates = db.session.scalars(
        for_update(
            select(LogoutDelivery)
            .where(LogoutDelivery.state == DeliveryState.QUEUED, LogoutDelivery.due_at <= due_by)
            .order_by(LogoutDelivery.due_at, LogoutDelivery.id)
            .limit(20),
            skip_locked=True,
            of=LogoutDelivery,
        )
    ).all()
    for item in candidates:
        uri = item.client.backchannel_logout_uri or ""
        if not uri or urllib.parse.urlsplit(uri).netloc in skipped_hosts:
            continue
        item.attempts += 1
        lease = current_app.config["OIDC_BACKCHANNEL_TIMEOUT_SECONDS"] * 3
        item.due_at = utcnow() + timedelta(seconds=lease)
        claimed = ClaimedDelivery(
            item.id, item.client.client_id, uri, item.subject, item.sid, item.attempts
        )
        db.session.commit()
        return claimed
    db.session.rollback()
    return None


def _post(claimed: ClaimedDelivery) -> None:
    """POST the token as a form; anything but a 2xx answer is a failure (OSError)."""
    body = urllib.parse.urlencode({"logout_token": logout_token(claimed)}).encode()
    request = urllib.request.Request(
        claimed.uri,
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
    )
    timeout = current_app.config["OIDC_BACKCHANNEL_TIMEOUT_SECONDS"]
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read(1024)
    except urllib.error.HTTPError as error:
        raise OSError(f"HTTP {error.code} from {claimed.uri}") from error
    except ValueError as error:  # a URI urllib cannot use
        raise OSError(str(error)) from error


def _record_failure(claimed: ClaimedDelivery, error: str) -> DeliveryState:
    """Due again after the backoff, or dead after the last try; commits; the new state."""
    config = current_app.config
    if claimed.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
        state, due_at = DeliveryState.DEAD, utcnow()
    else:
        delay = config["OUTBOX_RETRY_SECONDS"] * 2 ** (claimed.attempts - 1)
        state, due_at = DeliveryState.QUEUED, utcnow() + timedelta(seconds=delay)
    _record(claimed.id, state=state, due_at=due_at, last_error=error[:500])
    return state


def _record(delivery_id: int, **values) -> None:
    db.session.execute(
        update(LogoutDelivery).where(LogoutDelivery.id == delivery_id).values(**values)
    )
    db.session.commit()
