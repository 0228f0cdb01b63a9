"""The OpenID Connect provider's records: clients, signing keys, codes, tokens, RP sign-ins.

Secrets are never stored as given: client secrets as argon2id hashes, codes and tokens as
SHA-256 digests (a copy of the database alone signs nobody in), private keys encrypted.
"""

import enum
from datetime import datetime

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin
from authlib.oidc.core import AuthorizationCodeMixin
from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account
from portal.db_types import UTCDateTime, enum_type, utcnow
from portal.extensions import db
from portal.subsystems.models import Subsystem

GRANT_TYPES = ("authorization_code", "refresh_token")
AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class OidcClient(db.Model, ClientMixin):
    """A subsystem's relying party, registered by a portal administrator.

    The methods are Authlib's questions about a client (ClientMixin).
    """

    __tablename__ = "oidc_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    subsystem_id: Mapped[int] = mapped_column(ForeignKey("subsystems.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[str] = mapped_column(String(200))
    secret_set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # One URI per line, each matched exactly.
    redirect_uris: Mapped[str] = mapped_column(Text)
    post_logout_redirect_uris: Mapped[str] = mapped_column(Text, default="")
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(500))
    initiate_login_uri: Mapped[str | None] = mapped_column(String(500))
    # The ID number is released only to a client registered for it (scope national_id).
    may_receive_national_id: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    subsystem: Mapped[Subsystem] = relationship(lazy="joined")

    @property
    def redirect_uri_list(self) -> list[str]:
        """The registered redirect URIs."""
        return [line for line in self.redirect_uris.splitlines() if line]

    @property
    def post_logout_redirect_uri_list(self) -> list[str]:
        """The registered post-logout redirect URIs."""
        return [line for line in (self.post_logout_redirect_uris or "").splitlines() if line]

    @property
    def client_metadata(self) -> dict:
        """What RP-initiated logout reads: the post-logout redirect URIs."""
        return {"post_logout_redirect_uris": self.post_logout_redirect_uri_list}

    def get_client_id(self) -> str:
        """The client_id."""
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        """None: every request names its redirect URI, matched exactly."""
        return None

    def allowed_scopes(self) -> list[str]:
        """The scopes this client may get; the ID number's only if registered for it."""
        from portal.oidc.claims import BASE_SCOPES, NATIONAL_ID_SCOPE

        return [*BASE_SCOPES, NATIONAL_ID_SCOPE] if self.may_receive_national_id else [*BASE_SCOPES]

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes this client may have, in the order asked."""
        allowed = self.allowed_scopes()
        return " ".join(item for item in dict.fromkeys((scope or "").split()) if item in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exactly one of the registered URIs: no prefix, no pattern."""
        return redirect_uri in self.redirect_uri_list

    def check_client_secret(self, client_secret: str) -> bool:
        """The secret against its argon2id hash (see portal.oidc.secrets)."""
        from portal.oidc.secrets import verify_client_secret

        return verify_client_secret(self, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """HTTP Basic or the form's client_secret, nothing weaker."""
        return method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        """The code flow only."""
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        """Codes and refresh tokens."""
        return grant_type in GRANT_TYPES


class KeyState(enum.StrEnum):
    """A signing key's life: signing, published only, or gone from the JWKS."""

    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


class OidcSigningKey(db.Model):
    """A key the provider signs ID tokens and logout tokens with; at most one is active."""

    __tablename__ = "oidc_signing_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(10))
    private_jwk_encrypted: Mapped[str] = mapped_column(Text)
    state: Mapped[KeyState] = mapped_column(enum_type(KeyState), default=KeyState.ACTIVE)
    # 1 for the active key, NULL for the others: the unique constraint keeps one active key
    # even when two processes create the first one at once.
    active_slot: Mapped[int | None] = mapped_column(unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retiring_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OidcLogin(db.Model):
    """A relying party a portal session signed in to: who gets told when it ends."""

    __tablename__ = "oidc_logins"
    __table_args__ = (UniqueConstraint("user_session_id", "client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_session_id: Mapped[int] = mapped_column(ForeignKey("user_sessions.id"), index=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    # The session id the relying party received in its ID token (`sid`).
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[OidcClient] = relationship(lazy="joined")


class OidcAuthorizationCode(db.Model, AuthorizationCodeMixin):
    """A code handed to a relying party's redirect URI, exchanged once for tokens."""

    __tablename__ = "oidc_authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    login_id: Mapped[int] = mapped_column(ForeignKey("oidc_logins.id"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(String(200))
    nonce: Mapped[str | None] = mapped_column(String(200))
    code_challenge: Mapped[str] = mapped_column(String(128))
    code_challenge_method: Mapped[str] = mapped_column(String(10))
    auth_time: Mapped[datetime] = mapped_column(UTCDateTime)
    amr: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set by the one exchange that wins; a second one finds it set and revokes the tokens.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[OidcClient] = relationship(lazy="joined")
    account: Mapped[Account] = relationship()
    login: Mapped[OidcLogin] = relationship()

    def get_redirect_uri(self) -> str:
        """The redirect URI the code was sent to; the exchange must name the same."""
        return self.redirect_uri

    def get_scope(self) -> str:
        """The scopes granted."""
        return self.scope

    def get_nonce(self) -> str | None:
        """The relying party's nonce, echoed in the ID token."""
        return self.nonce

    def get_auth_time(self) -> int:
        """When the person signed in at the portal (seconds since the epoch)."""
        return int(self.auth_time.timestamp())

    def get_amr(self) -> list[str]:
        """How they signed in: ["pwd"], or ["pwd", "otp", "mfa"] for staff."""
        methods = self.amr.split()
        return [*methods, "mfa"] if len(methods) > 1 else methods

    def get_acr(self) -> str:
        """The assurance level the methods reach (see portal.oidc.claims)."""
        from portal.oidc.claims import acr_for

        return acr_for(self.amr.split())


class OidcToken(db.Model, TokenMixin):
    """An access token and its refresh token; a rotation adds a row to the same family."""

    __tablename__ = "oidc_tokens"
    __table_args__ = (Index("ix_oidc_tokens_family", "family_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    login_id: Mapped[int] = mapped_column(ForeignKey("oidc_logins.id"), index=True)
    # Every token descending from one code: reuse of a rotated refresh token revokes them all.
    family_id: Mapped[str] = mapped_column(String(32))
    code_id: Mapped[int | None] = mapped_column(ForeignKey("oidc_authorization_codes.id"))
    access_token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the refresh token is exchanged (rotation); a second exchange is a reuse.
    refresh_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[OidcClient] = relationship(lazy="joined")
    account: Mapped[Account] = relationship(lazy="joined")
    login: Mapped[OidcLogin] = relationship()

    def check_client(self, client: OidcClient) -> bool:
        """Whether the token was issued to this client."""
        return self.client_id == client.id

    def get_scope(self) -> str:
        """The scopes granted."""
        return self.scope

    def get_expires_in(self) -> int:
        """The access token's lifetime in seconds."""
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        """Whether the access token has expired."""
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        """Whether the token was revoked (sign-out, deactivation, reuse, revoked access)."""
        return self.revoked_at is not None

    def get_user(self):
        """The person, as Authlib's "user" (portal.oidc.tokens.Person)."""
        from portal.oidc.tokens import Person

        return Person(self.account, self.client.may_receive_national_id)

    def get_client(self) -> OidcClient:
        """The client."""
        return self.client


class DeliveryState(enum.StrEnum):
    """Where a back-channel logout notice stands (as an outbox message does)."""

    QUEUED = "queued"
    SENT = "sent"
    DEAD = "dead"


class LogoutDelivery(db.Model):
    """A logout token to POST to a relying party, queued with the sign-out that causes it."""

    __tablename__ = "oidc_logout_deliveries"
    __table_args__ = (Index("ix_oidc_logout_deliveries_state_due", "state", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id"), index=True)
    subject: Mapped[str] = mapped_column(String(36))
    sid: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(30))
    state: Mapped[DeliveryState] = mapped_column(
        enum_type(DeliveryState), default=DeliveryState.QUEUED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    client: Mapped[OidcClient] = relationship(lazy="joined")
