"""The OpenID Connect provider: Authlib's authorization server, told about our records.

Authlib does the protocol (request validation, PKCE, client authentication, ID tokens,
userinfo, RP-initiated logout); this module answers its questions from the database
(portal.oidc.tokens, portal.oidc.keys) and adds what the portal requires beyond the
specifications' minimum: PKCE with S256 for every client, confidential or not.
"""

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc import core as oidc_core
from authlib.oidc import rpinitiated
from flask import Flask, current_app
from sqlalchemy import select

from portal.extensions import db
from portal.oidc import claims, keys, tokens
from portal.oidc.models import AUTH_METHODS, OidcClient


def issuer() -> str:
    """The issuer: the portal's external address, the same whatever Host a request named."""
    return current_app.config["EXTERNAL_BASE_URL"].rstrip("/")


def query_client(client_id: str) -> OidcClient | None:
    """An active client by its client_id."""
    if not client_id or len(client_id) > 64:
        return None
    return db.session.scalar(
        select(OidcClient).where(OidcClient.client_id == client_id, OidcClient.active)
    )


def save_token(token: dict, request) -> None:
    """Authlib's hook: store what it just issued."""
    tokens.save_token(token, request.client, request.user, request)


class S256Required(CodeChallenge):
    """PKCE on every authorization request, with S256 only (plain reveals the verifier)."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant, redirect_uri):
        """Refuse a request without a challenge, or with any method but S256."""
        payload = grant.request.payload.data
        if not payload.get("code_challenge"):
            raise InvalidRequestError(
                "PKCE is required: send code_challenge with code_challenge_method=S256.",
                redirect_uri=redirect_uri,
            )
        if payload.get("code_challenge_method") != "S256":
            raise InvalidRequestError(
                "code_challenge_method must be S256.", redirect_uri=redirect_uri
            )
        return super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code):
        """The challenge stored with the code."""
        return authorization_code.code_challenge

    def get_authorization_code_challenge_method(self, authorization_code):
        """Always S256."""
        return authorization_code.code_challenge_method


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    """Codes stored as digests, exchanged once; a second exchange revokes what the first gave."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)

    def save_authorization_code(self, code, request):
        """Store the code for the grantee (see tokens.Grantee)."""
        tokens.save_code(code, request.client, request.user, request.payload)

    def query_authorization_code(self, code, client):
        """The code, claimed by this exchange; None if used, expired or another client's."""
        return tokens.claim_code(code, client)

    def delete_authorization_code(self, authorization_code):
        """Nothing: the code stays, marked used, so that a second exchange is recognised."""

    def authenticate_user(self, authorization_code):
        """The person, while the account is active and the subsystem still theirs."""
        from portal.oidc.access import may_use

        account = authorization_code.account
        client = authorization_code.client
        if not may_use(account, client):
            return None
        return tokens.Person(account, client.may_receive_national_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """Every exchange rotates the refresh token; a rotated one presented again revokes the
    family, for the client it was issued to."""

    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        """The token row, claimed by this exchange; None for a reuse, revoked or expired."""
        return tokens.claim_refresh_token(refresh_token, self.request.client)

    def authenticate_user(self, refresh_token):
        """The person, while the account is active and the subsystem still theirs."""
        from portal.oidc.access import may_use

        if not may_use(refresh_token.account, refresh_token.client):
            return None
        return refresh_token.get_user()

    def revoke_old_credential(self, refresh_token):
        """The exchanged pair stops working."""
        tokens.retire_rotated(refresh_token)


class OpenIDCode(oidc_core.OpenIDCode):
    """ID tokens signed (RS256) with the active key, with sid, auth_time, amr and acr."""

    def resolve_client_private_key(self, client):
        """The active signing key."""
        return keys.signing_key()

    def get_client_algorithm(self, client):
        """RS256."""
        return keys.ALGORITHM

    def get_encode_header(self, client):
        """alg and the kid relying parties find the key by in the JWKS."""
        return {"alg": keys.ALGORITHM, "kid": keys.signing_key().kid, "typ": "JWT"}

    def get_client_claims(self, client):
        """The issuer, and the client as the audience."""
        return {"iss": issuer(), "aud": client.client_id}

    def get_authorization_code_claims(self, authorization_code):
        """Authlib's nonce, auth_time, acr, amr, and the session id for logout."""
        found = super().get_authorization_code_claims(authorization_code)
        found["sid"] = authorization_code.login.sid
        return found

    def exists_nonce(self, nonce, request):
        """A nonce this client already used is a replay; one longer than we keep is refused."""
        if len(nonce) > tokens.NONCE_MAX:
            raise InvalidRequestError(f"'nonce' is longer than {tokens.NONCE_MAX} characters.")
        return tokens.nonce_used(request.payload.client_id, nonce)

    def generate_user_info(self, user, scope):
        """The claims of the scope."""
        return claims.user_info(user.account, scope, user.may_receive_national_id)


class BearerTokens(BearerTokenValidator):
    """Access tokens found by their digest."""

    def authenticate_token(self, token_string):
        """The token row, if it exists and its account is still active."""
        if not token_string or len(token_string) > 200:
            return None
        item = tokens.access_token(token_string)
        if item is None or not item.account.is_active:
            return None
        return item


class UserInfoEndpoint(oidc_core.UserInfoEndpoint):
    """The claims of the access token's scope, as JSON."""

    def get_issuer(self):
        """The issuer."""
        return issuer()

    def generate_user_info(self, user, scope):
        """The claims of the scope."""
        return claims.user_info(user.account, scope, user.may_receive_national_id)

    def resolve_private_key(self):
        """The active signing key (signed userinfo is not offered, but Authlib asks)."""
        return keys.signing_key()


class EndSessionEndpoint(rpinitiated.EndSessionEndpoint):
    """RP-initiated logout; the view signs the person out (portal.oidc.views)."""

    def get_server_jwks(self):
        """The published keys: an id_token_hint signed by a retiring key still counts."""
        return keys.published_keys()

    def is_post_logout_redirect_uri_legitimate(self, request, uri, client, logout_hint):
        """Without an id_token_hint the person confirms the sign-out first (the view), and
        the URI is one the client registered (Authlib matched it exactly)."""
        return True

    def end_session(self, end_session_request):
        """Sign this browser out of the portal, which tells every relying party."""
        from portal.oidc.logout import sign_out_browser

        sign_out_browser()


def init_provider(app: Flask) -> None:
    """Build this app's Authlib server: grants, endpoints, token lifetimes."""
    app.config.setdefault("OAUTH2_REFRESH_TOKEN_GENERATOR", True)
    app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
        "authorization_code": app.config["OIDC_ACCESS_TOKEN_SECONDS"],
        "refresh_token": app.config["OIDC_ACCESS_TOKEN_SECONDS"],
    }
    app.config["OAUTH2_SCOPES_SUPPORTED"] = list(claims.SUPPORTED_SCOPES)
    server = AuthorizationServer(app, query_client=query_client, save_token=save_token)
    server.register_grant(AuthorizationCodeGrant, [OpenIDCode(), S256Required()])
    server.register_grant(RefreshTokenGrant)
    protector = ResourceProtector()
    protector.register_token_validator(BearerTokens())
    server.register_endpoint(UserInfoEndpoint(resource_protector=protector))
    server.register_endpoint(EndSessionEndpoint)
    app.extensions["oidc_server"] = server


def provider() -> AuthorizationServer:
    """This app's authorization server."""
    return current_app.extensions["oidc_server"]
