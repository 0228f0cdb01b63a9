"""Checking a back-channel logout token (OpenID Connect Back-Channel Logout 1.0, §2.6)."""

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


class InvalidLogoutToken(Exception):
    """The token is not a logout token from our provider for us."""


def verify_logout_token(
    token: str, jwks: dict, issuer: str, client_id: str, algorithms: list[str]
) -> dict:
    """The token's claims, if it is a valid logout token for this client."""
    try:
        decoded = jwt.decode(
            token, KeySet.import_key_set(jwks), registry=JWSRegistry(algorithms=algorithms)
        )
        claims = decoded.claims
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id},
            iat={"essential": True},
            exp={"essential": True},
            jti={"essential": True},
        ).validate(claims)
    except (JoseError, ValueError) as error:
        raise InvalidLogoutToken(str(error)) from error
    events = claims.get("events")
    if not isinstance(events, dict) or LOGOUT_EVENT not in events:
        raise InvalidLogoutToken("no back-channel logout event")
    if "nonce" in claims:
        raise InvalidLogoutToken("a logout token carries no nonce")
    if not claims.get("sid") and not claims.get("sub"):
        raise InvalidLogoutToken("neither sid nor sub")
    return claims
