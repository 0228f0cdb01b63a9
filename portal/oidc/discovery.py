"""The provider's metadata (OpenID Connect Discovery 1.0), checked by Authlib's model."""

from authlib.common.security import is_secure_transport
from authlib.oidc import discovery, rpinitiated

from portal.mail import external_url
from portal.oidc import claims, keys
from portal.oidc.models import AUTH_METHODS
from portal.oidc.server import issuer


def provider_metadata() -> dict:
    """The document at /.well-known/openid-configuration, on the external address."""
    # Built on EXTERNAL_BASE_URL, whatever Host the request named: the issuer is fixed.
    metadata = discovery.OpenIDProviderMetadata(
        {
            "issuer": issuer(),
            "authorization_endpoint": external_url("oidc.authorize"),
            "token_endpoint": external_url("oidc.token"),
            "userinfo_endpoint": external_url("oidc.userinfo"),
            "jwks_uri": external_url("oidc.jwks"),
            "end_session_endpoint": external_url("oidc.end_session"),
            "scopes_supported": list(claims.SUPPORTED_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [keys.ALGORITHM],
            "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": claims.SUPPORTED_CLAIMS,
            "acr_values_supported": list(claims.ACR_VALUES),
            "prompt_values_supported": ["none", "login"],
            "ui_locales_supported": ["zh-TW", "en"],
            "claims_parameter_supported": False,
            "request_parameter_supported": False,
            "request_uri_parameter_supported": False,
            "backchannel_logout_supported": True,
            "backchannel_logout_session_supported": True,
        }
    )
    if is_secure_transport(metadata["issuer"]):
        # An http issuer on another host than loopback (a test name) cannot be valid; every
        # real one (https, or the loopback of `make run`) is checked against the specification.
        metadata.validate(metadata_classes=[rpinitiated.OpenIDProviderMetadata])
    return dict(metadata)
