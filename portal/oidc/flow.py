"""The authorization request, step by step: who is asking, for whom, and may they have it.

Authlib validates the request (client, exact redirect URI, PKCE, prompt, nonce); this
module decides what the portal does around it: send the person to sign in (again, for
`prompt=login` or a `max_age` passed), refuse with `login_required` for `prompt=none`,
show what is missing when the account may not use the subsystem, or issue the code.
"""

import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError
from authlib.oidc.core.errors import LoginRequiredError
from flask import g, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Account
from portal.auth.models import UserSession
from portal.auth.services import token_digest
from portal.auth.session import current_session_token
from portal.extensions import db
from portal.oidc.access import AccessStanding, access_to, may_use
from portal.oidc.models import OidcClient, OidcLogin
from portal.oidc.server import provider
from portal.oidc.tokens import Grantee

# Parameters that asked for a fresh sign-in: dropped from the request resumed after it, or
# the new sign-in would be asked for again and again.
FRESH_SIGN_IN_PARAMETERS = ("prompt", "max_age")


@dataclass(frozen=True)
class Outcome:
    """What the view does next: answer Authlib's response, sign in, or show the access page."""

    response: object = None
    sign_in_next: str | None = None
    sign_out_first: bool = False
    missing: AccessStanding | None = None
    client: OidcClient | None = None


def current_user_session() -> UserSession | None:
    """The server-side session of this browser, if signed in."""
    token = current_session_token()
    if not token:
        return None
    return db.session.scalar(
        select(UserSession).where(
            UserSession.token_digest == token_digest(token), UserSession.ended_at.is_(None)
        )
    )


def authorize(account: Account | None) -> Outcome:
    """Handle one authorization request for the signed-in account (or nobody)."""
    server = provider()
    try:
        grant = server.get_consent_grant(end_user=account)
    except OAuth2Error as error:
        return Outcome(response=error_response(error))
    except ValueError:
        # Authlib cannot even word its error (a parameter with characters an error
        # description may not carry): a request no relying party sent; the page says so.
        return Outcome()
    client: OidcClient = grant.client
    allow_form_action_to(client.redirect_uri_list)
    payload = grant.request.payload
    prompt = payload.data.get("prompt") or ""
    redirect_uri = payload.redirect_uri
    if account is None:
        return Outcome(sign_in_next=resumable_path())
    user_session = current_user_session()
    if "login" in prompt.split() or _older_than_max_age(user_session, payload.data):
        if prompt == "none":
            return Outcome(response=_redirect_error(LoginRequiredError, redirect_uri, payload))
        return Outcome(sign_in_next=resumable_path(), sign_out_first=True)
    if not may_use(account, client):
        if prompt == "none":
            return Outcome(response=_redirect_error(AccessDeniedError, redirect_uri, payload))
        return Outcome(missing=access_to(account, client.subsystem_id), client=client)
    grantee = Grantee(
        account=account,
        login=ensure_login(user_session, client),
        auth_time=user_session.created_at,
        auth_methods=user_session.auth_methods,
    )
    return Outcome(response=server.create_authorization_response(grant=grant, grant_user=grantee))


def _older_than_max_age(user_session: UserSession | None, data: dict) -> bool:
    """Whether the sign-in is older than the relying party's max_age allows."""
    value = data.get("max_age")
    if value is None or user_session is None:
        return False
    try:
        max_age = int(value)
    except ValueError:
        return False
    return time.time() - user_session.created_at.timestamp() > max(max_age, 0)


def _redirect_error(error_class, redirect_uri: str, payload):
    """An error sent back to the relying party's (validated) redirect URI, with its state."""
    error = error_class(redirect_uri=redirect_uri)
    error.state = payload.state
    return error_response(error)


def error_response(error: OAuth2Error):
    """Authlib's answer: a redirect to the relying party when its URI was validated; else
    None, and the view shows a page (a wrong link must not bounce anywhere)."""
    if getattr(error, "redirect_uri", None):
        return provider().handle_error_response(None, error)
    return None


def resumable_path() -> str:
    """This request as a path to come back to, without what asked for a fresh sign-in."""
    kept = [
        (name, value)
        for name, value in parse_qsl(urlsplit(request.full_path).query, keep_blank_values=True)
        if name not in FRESH_SIGN_IN_PARAMETERS
    ]
    return f"{request.path}?{urlencode(kept)}"


def ensure_login(user_session: UserSession, client: OidcClient) -> OidcLogin:
    """This session's sign-in to the client, made (or reopened) now; commits."""
    login = db.session.scalar(
        select(OidcLogin).where(
            OidcLogin.user_session_id == user_session.id, OidcLogin.client_id == client.id
        )
    )
    if login is not None and login.ended_at is None:
        return login
    if login is not None:
        # Ended (access revoked, then granted again): a new sid, the old one was logged out.
        login.sid, login.ended_at = secrets.token_urlsafe(24), None
        db.session.commit()
        return login
    login = OidcLogin(
        user_session_id=user_session.id,
        client_id=client.id,
        account_id=user_session.account_id,
        sid=secrets.token_urlsafe(24),
    )
    db.session.add(login)
    try:
        db.session.commit()
    except IntegrityError:  # the same browser opened the subsystem twice at once
        db.session.rollback()
        login = db.session.scalar(
            select(OidcLogin).where(
                OidcLogin.user_session_id == user_session.id, OidcLogin.client_id == client.id
            )
        )
    return login


def allow_form_action_to(uris: list[str]) -> None:
    """Let this page's forms lead on to these addresses (sign-in then on to a subsystem).

    The Content-Security-Policy's form-action also covers the redirects after a form is
    sent; the relying party's registered addresses are added for this response only.
    """
    origins = {f"{urlsplit(uri).scheme}://{urlsplit(uri).netloc}" for uri in uris}
    g.form_action_origins = sorted(origins | set(getattr(g, "form_action_origins", ())))


def form_action_for_next(target: str | None) -> None:
    """For a sign-in page going on to an authorization request: allow its client's URIs."""
    if not target or not target.startswith("/oidc/authorize?"):
        return
    params = dict(parse_qsl(urlsplit(target).query))
    client_id = params.get("client_id") or ""
    client = db.session.scalar(
        select(OidcClient).where(OidcClient.client_id == client_id[:64], OidcClient.active)
    )
    if client is not None:
        allow_form_action_to(client.redirect_uri_list)
