"""A throw-away PostgreSQL database for one benchmark run, migrated like production."""

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask
from flask_migrate import upgrade

from portal import create_app

# The server `make services` starts; trust or password auth both work with this URL.
DEFAULT_ADMIN_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"


@dataclass(frozen=True)
class Secrets:
    """Fresh keys for this run, shared by the seeding process and the server."""

    secret_key: str
    id_encryption_keys: str
    id_hash_key: str

    @classmethod
    def generate(cls) -> "Secrets":
        """New random keys: nothing the benchmark stores is readable after the run."""
        return cls(
            secret_key=secrets.token_urlsafe(32),
            id_encryption_keys=Fernet.generate_key().decode(),
            id_hash_key=secrets.token_urlsafe(32),
        )

    def as_config(self) -> dict[str, str]:
        """The keys under the names the portal's configuration uses."""
        return {
            "SECRET_KEY": self.secret_key,
            "ID_ENCRYPTION_KEYS": self.id_encryption_keys,
            "ID_HASH_KEY": self.id_hash_key,
            # Production requires it (links in e-mails; the hosts it serves).
            "EXTERNAL_BASE_URL": "http://127.0.0.1",
        }


def admin_url() -> sa.URL:
    """Where to create the bench database: BENCH_POSTGRES_URL, else the tests' server."""
    raw = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get(
        "TEST_POSTGRES_URL", DEFAULT_ADMIN_URL
    )
    url = sa.make_url(raw)
    # psycopg 3 is the driver the portal installs; plain postgresql:// would ask for psycopg2.
    return url.set(drivername="postgresql+psycopg")


def _admin(statement: str) -> None:
    """Run one statement outside a transaction (CREATE/DROP DATABASE refuse to run in one)."""
    engine = sa.create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


@contextmanager
def bench_database(template: str | None = None) -> Iterator[str]:
    """Create `portal_bench_<random>`, yield its URL, and drop it however the run ends.

    With `template` (a database URL), the new database starts as a copy of that one, which
    must have no open connections at that moment.
    """
    name = f"portal_bench_{secrets.token_hex(6)}"
    copy = f' TEMPLATE "{sa.make_url(template).database}"' if template else ""
    _admin(f'CREATE DATABASE "{name}"{copy}')
    try:
        yield admin_url().set(database=name).render_as_string(hide_password=False)
    finally:
        # FORCE: a server that did not stop cleanly must not keep the database alive.
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrated_app(database_url: str, keys: Secrets) -> Flask:
    """The production configuration on the bench database, with the schema migrated."""
    app = create_app(
        "production",
        {"SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": False, **keys.as_config()},
    )
    with app.app_context():
        upgrade()
    return app
