"""戒菸服務系統（示範）: a small relying party that signs in through the portal.

It stands for a subsystem: its own Flask app that never imports the portal and knows it only
by its issuer URL, a client id and a secret. It signs people in with Authlib's Flask client
(authorization code flow, PKCE S256, nonce, state), shows who signed in and their
institution, signs out through the portal (RP-initiated logout), accepts the portal's
back-channel logout tokens (checked with joserfc against the portal's JWKS), and starts a
sign-in when the portal opens it (third-party initiated login).
"""

from demo_rp.app import create_app

__all__ = ["create_app"]
