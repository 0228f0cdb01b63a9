"""Readiness: can this node serve? The database answers, Redis (when the rate limits use it)
answers, and the outbox is not backed up past READY_MAX_QUEUED_MAIL."""

import ipaddress
from dataclasses import dataclass

from flask import current_app
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from portal.extensions import db
from portal.outbox.services import queued_beyond

REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


@dataclass(frozen=True)
class Check:
    """One readiness check: its name and its state ("ok", "failed", "not_configured")."""

    name: str
    state: str

    @property
    def passed(self) -> bool:
        """Whether it lets the node take requests."""
        return self.state != "failed"


def readiness() -> list[Check]:
    """The database, Redis and the outbox, each checked with READY_TIMEOUT_SECONDS."""
    database = _database_state()
    outbox = _outbox_state() if database == "ok" else "failed"
    return [Check("database", database), Check("redis", _redis_state()), Check("outbox", outbox)]


def _database_state() -> str:
    timeout_ms = int(current_app.config["READY_TIMEOUT_SECONDS"] * 1000)
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            db.session.execute(text(f"SET LOCAL statement_timeout = {timeout_ms}"))
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return "failed"
    return "ok"


def _outbox_state() -> str:
    limit = current_app.config["READY_MAX_QUEUED_MAIL"]
    if not limit:
        return "not_configured"
    try:
        backed_up = queued_beyond(limit)
    except SQLAlchemyError:
        backed_up = True
    finally:
        db.session.rollback()  # ends the transaction, and its statement timeout with it
    return "failed" if backed_up else "ok"


def _redis_state() -> str:
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    if not uri.startswith(REDIS_SCHEMES):
        return "not_configured"
    clients = current_app.extensions.setdefault("readiness_redis", {})
    client = clients.get(uri)
    if client is None:
        timeout = current_app.config["READY_TIMEOUT_SECONDS"]
        client = clients[uri] = Redis.from_url(
            uri, socket_connect_timeout=timeout, socket_timeout=timeout
        )
    try:
        client.ping()
    except (RedisError, OSError):
        return "failed"
    return "ok"


def parse_networks(cidrs: list[str]) -> tuple:
    """The monitoring networks; RuntimeError naming the setting for one that is not a CIDR."""
    try:
        return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs)
    except ValueError as error:
        raise RuntimeError(f"METRICS_ALLOWED_NETWORKS: {error}") from None


def in_networks(address: str | None, networks: tuple) -> bool:
    """Whether the client address lies in one of the networks."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks)
