"""Registering subsystems as relying parties, and opening a subsystem from 我的子系統."""

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from flask import current_app
from sqlalchemy import select

from portal.accounts.models import Account
from portal.audit.services import Origin, record_event
from portal.db_types import utcnow
from portal.errors import DomainError, NotInScope
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.oidc.access import Access, access_to
from portal.oidc.models import OidcClient
from portal.oidc.secrets import new_secret
from portal.subsystems.models import Subsystem

CLIENT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


class ClientRefused(DomainError):
    """A registration that cannot be saved; `field` names the input at fault."""

    status = 422

    def __init__(self, field: str, message) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class CannotOpen(DomainError):
    """The subsystem cannot be opened from here: no access, or no sign-in address."""

    status = 409

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ClientDetails:
    """What a portal administrator registers for a subsystem's relying party."""

    client_id: str
    name: str
    subsystem_code: str
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()
    backchannel_logout_uri: str | None = None
    initiate_login_uri: str | None = None
    may_receive_national_id: bool = False


def _web_address(uri: str, field: str) -> str:
    """An absolute http(s) address without a fragment; https outside development."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise ClientRefused(field, _l("請填寫完整的網址（http:// 或 https:// 開頭，不含 #）。"))
    if (
        parts.scheme == "http"
        and parts.hostname not in ("127.0.0.1", "localhost", "::1")
        and not current_app.config["OIDC_ALLOW_HTTP_CLIENTS"]
    ):
        raise ClientRefused(field, _l("子系統的網址必須使用 https。"))
    return uri


def _checked(details: ClientDetails) -> ClientDetails:
    if not details.redirect_uris:
        raise ClientRefused("redirect_uris", _l("請至少填寫一個登入後返回網址。"))
    for uri in details.redirect_uris:
        _web_address(uri, "redirect_uris")
    for uri in details.post_logout_redirect_uris:
        _web_address(uri, "post_logout_redirect_uris")
    for field in ("backchannel_logout_uri", "initiate_login_uri"):
        if getattr(details, field):
            _web_address(getattr(details, field), field)
    if not details.name.strip():
        raise ClientRefused("name", _l("請填寫名稱。"))
    return details


def _subsystem(code: str) -> Subsystem:
    subsystem = db.session.scalar(select(Subsystem).where(Subsystem.code == code))
    if subsystem is None:
        raise ClientRefused("subsystem_code", _l("請選擇子系統。"))
    return subsystem


def register_client(
    details: ClientDetails, origin: Origin, actor: Account | None = None
) -> tuple[OidcClient, str]:
    """Register a relying party; commits. The client and its secret, shown this once."""
    details = _checked(details)
    if not CLIENT_ID_PATTERN.match(details.client_id):
        raise ClientRefused(
            "client_id", _l("用戶端代碼限 3–64 個小寫英文字母、數字與 . _ -，且以字母或數字開頭。")
        )
    if db.session.scalar(select(OidcClient.id).where(OidcClient.client_id == details.client_id)):
        raise ClientRefused("client_id", _l("這個用戶端代碼已經有人使用。"))
    secret, secret_hash = new_secret()
    client = OidcClient(
        client_id=details.client_id,
        subsystem=_subsystem(details.subsystem_code),
        secret_hash=secret_hash,
    )
    _apply(client, details)
    db.session.add(client)
    db.session.flush()
    _audit("oidc_client.registered", client, origin, actor)
    db.session.commit()
    return client, secret


def update_client(
    client_id: str, details: ClientDetails, origin: Origin, actor: Account | None = None
) -> OidcClient:
    """Change a relying party's addresses and settings (not its id or secret); commits."""
    client = client_by_id(client_id)
    _apply(client, _checked(details))
    client.subsystem = _subsystem(details.subsystem_code)
    _audit("oidc_client.updated", client, origin, actor)
    db.session.commit()
    return client


def rotate_secret(client_id: str, origin: Origin, actor: Account | None = None) -> str:
    """A new secret replaces the old one at once; commits; the new secret, shown once."""
    client = client_by_id(client_id)
    secret, client.secret_hash = new_secret()
    client.secret_set_at = utcnow()
    _audit("oidc_client.secret_rotated", client, origin, actor)
    db.session.commit()
    return secret


def _apply(client: OidcClient, details: ClientDetails) -> None:
    client.name = details.name.strip()
    client.redirect_uris = "\n".join(details.redirect_uris)
    client.post_logout_redirect_uris = "\n".join(details.post_logout_redirect_uris)
    client.backchannel_logout_uri = details.backchannel_logout_uri or None
    client.initiate_login_uri = details.initiate_login_uri or None
    client.may_receive_national_id = details.may_receive_national_id


def client_by_id(client_id: str) -> OidcClient:
    """A registered client by its client_id; 404 otherwise."""
    client = db.session.scalar(select(OidcClient).where(OidcClient.client_id == client_id))
    if client is None:
        raise NotInScope()
    return client


def all_clients() -> list[OidcClient]:
    """Every registered client, by subsystem."""
    return list(
        db.session.scalars(
            select(OidcClient).join(Subsystem).order_by(Subsystem.sort_order, OidcClient.client_id)
        )
    )


def launch_client(subsystem_id: int) -> OidcClient | None:
    """The client a subsystem is opened through: an active one with a sign-in address."""
    return db.session.scalar(
        select(OidcClient)
        .where(
            OidcClient.subsystem_id == subsystem_id,
            OidcClient.active,
            OidcClient.initiate_login_uri.is_not(None),
        )
        .order_by(OidcClient.id)
        .limit(1)
    )


def openable_subsystem_ids() -> set[int]:
    """The subsystems that can be opened from 我的子系統 (a client with a sign-in address)."""
    return set(
        db.session.scalars(
            select(OidcClient.subsystem_id).where(
                OidcClient.active, OidcClient.initiate_login_uri.is_not(None)
            )
        )
    )


def opening_address(account: Account, subsystem_code: str) -> str:
    """Where 開啟 takes the person: the sign-in they started before access was granted, or
    the subsystem's own sign-in address (third-party initiated login); commits."""
    subsystem = db.session.scalar(select(Subsystem).where(Subsystem.code == subsystem_code))
    if subsystem is None:
        raise NotInScope()
    standing = access_to(account, subsystem.id)
    if standing.access is not Access.GRANTED:
        raise CannotOpen(_l("您尚未取得這個子系統的使用權限。"))
    resume = standing.request.resume_path
    if resume:
        standing.request.resume_path = None
        db.session.commit()
        return resume
    client = launch_client(subsystem.id)
    if client is None:
        raise CannotOpen(_l("這個子系統尚未提供從入口網開啟的網址，請直接前往該系統登入。"))
    issuer = current_app.config["EXTERNAL_BASE_URL"].rstrip("/")
    separator = "&" if urlsplit(client.initiate_login_uri).query else "?"
    return f"{client.initiate_login_uri}{separator}{urlencode({'iss': issuer})}"


def _audit(action: str, client: OidcClient, origin: Origin, actor: Account | None) -> None:
    record_event(
        action,
        subject_type="oidc_client",
        subject_id=client.client_id,
        origin=origin,
        actor_account_id=actor.id if actor else None,
        detail={
            "subsystem": client.subsystem.code,
            "redirect_uris": client.redirect_uri_list,
            "may_receive_national_id": client.may_receive_national_id,
        },
    )
