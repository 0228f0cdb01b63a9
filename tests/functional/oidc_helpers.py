"""Helpers for the OpenID Connect tests: a registered client, a person granted a subsystem,
and the relying party's side of the protocol done by hand (PKCE, the token request)."""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from portal.accounts.models import AccountState
from portal.audit.services import Origin
from portal.db_types import utcnow
from portal.extensions import db
from portal.oidc import clients
from portal.subsystems.models import RequestState, Subsystem, SubsystemRequest
from tests import factories

REDIRECT_URI = "https://rp.example.gov.tw/callback"
ISSUER = "http://portal.test"


@dataclass
class RegisteredClient:
    """A client as the relying party knows it."""

    client_id: str
    secret: str


def register(subsystem: str = "cessation", **overrides) -> RegisteredClient:
    """A relying party for the subsystem, registered as a portal administrator would."""
    client_id = overrides.pop("client_id", f"rp-{factories.next_number()}")
    details = clients.ClientDetails(
        client_id=client_id,
        name=overrides.pop("name", "測試子系統"),
        subsystem_code=subsystem,
        redirect_uris=overrides.pop("redirect_uris", (REDIRECT_URI,)),
        post_logout_redirect_uris=overrides.pop(
            "post_logout_redirect_uris", ("https://rp.example.gov.tw/signed-out",)
        ),
        backchannel_logout_uri=overrides.pop("backchannel_logout_uri", None),
        initiate_login_uri=overrides.pop("initiate_login_uri", "https://rp.example.gov.tw/login"),
        may_receive_national_id=overrides.pop("may_receive_national_id", False),
    )
    _client, secret = clients.register_client(details, Origin(remote_addr="test"))
    return RegisteredClient(client_id, secret)


def grant(account, subsystem: str = "cessation", state=RequestState.APPROVED, **values):
    """The account's request for the subsystem, in the given state."""
    found = db.session.scalar(select(Subsystem).where(Subsystem.code == subsystem))
    item = SubsystemRequest(
        account_id=account.id,
        subsystem_id=found.id,
        state=state,
        decided_at=None if state is RequestState.PENDING else utcnow(),
        **values,
    )
    db.session.add(item)
    db.session.flush()
    return item


def person(subsystem: str | None = "cessation", **overrides):
    """An active general user, granted the subsystem (None: granted nothing)."""
    account = factories.account(state=AccountState.ACTIVE, **overrides)
    if subsystem:
        grant(account, subsystem)
    return account


@dataclass
class Pkce:
    """A code verifier and its S256 challenge."""

    verifier: str
    challenge: str


def pkce() -> Pkce:
    """A fresh PKCE pair."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return Pkce(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode())


def authorize_url(rp: RegisteredClient, challenge: Pkce | None, **params) -> str:
    """An authorization request as the relying party would send it."""
    query = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email institution",
        "state": "state-123",
        "nonce": secrets.token_urlsafe(12),
    }
    if challenge is not None:
        query.update(code_challenge=challenge.challenge, code_challenge_method="S256")
    query.update(params)
    return "/oidc/authorize?" + urlencode({k: v for k, v in query.items() if v is not None})


def redirect_params(response) -> dict[str, str]:
    """The query of the redirect back to the relying party."""
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI), location
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


def code_for(client, rp: RegisteredClient, challenge: Pkce, **params) -> str:
    """Authorize (the browser signed in already) and return the code."""
    found = redirect_params(client.get(authorize_url(rp, challenge, **params)))
    assert "code" in found, found
    return found["code"]


def basic(rp: RegisteredClient) -> dict:
    """The Authorization header of client_secret_basic."""
    raw = f"{rp.client_id}:{rp.secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def exchange(client, rp: RegisteredClient, code: str, verifier: str | None, **extra):
    """The token request for a code (client_secret_basic unless told otherwise)."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        data["code_verifier"] = verifier
    headers = basic(rp)
    if extra.pop("post_secret", False):
        headers = {}
        data.update(client_id=rp.client_id, client_secret=rp.secret)
    data.update(extra)
    return client.post("/oidc/token", data=data, headers=headers)


def refresh(client, rp: RegisteredClient, refresh_token: str):
    """The token request for a refresh token."""
    return client.post(
        "/oidc/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers=basic(rp),
    )


def id_token_claims(client, id_token: str) -> dict:
    """The ID token's claims, checked against the JWKS the portal publishes now."""
    key_set = KeySet.import_key_set(client.get("/oidc/jwks").get_json())
    return dict(jwt.decode(id_token, key_set, algorithms=["RS256"]).claims)
