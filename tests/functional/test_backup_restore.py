"""The backup and restore drill: pg_dump, pg_restore into a new database, and the copy is the
portal's own (README, "Backup and restore"). PostgreSQL only: SQLite has no pg_dump."""

import shutil
import subprocess
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from portal.accounts.models import Account, AccountState
from portal.extensions import db
from portal.security.national_ids import decrypt_national_id, national_id_digest
from tests import factories
from tests.conftest import _postgres_admin, make_app
from tests.functional.auth_helpers import login

pytestmark = pytest.mark.postgres_only


def libpq_url(url: str) -> str:
    """The URL as pg_dump and pg_restore take it (no SQLAlchemy driver name)."""
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def rows(url: str, sql: str) -> list:
    """Every row a query returns, read straight from a database."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def restored_url(fresh_database):
    """A new, empty database to restore into; dropped afterwards."""
    name = f"portal_restore_{uuid.uuid4().hex[:12]}"
    _postgres_admin(f'CREATE DATABASE "{name}"')
    url = sa.make_url(fresh_database).set(database=name).render_as_string(hide_password=False)
    yield url
    _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_dump_restored_into_a_new_database_is_complete(live_app, restored_url, tmp_path):
    people = factories.NATIONAL_IDS
    with live_app.app_context():
        for national_id in people:
            factories.application(
                factories.account(national_id=national_id, state=AccountState.ACTIVE)
            )
        usernames = list(db.session.scalars(sa.select(Account.username)))
        db.session.commit()
        source_url = db.engine.url.render_as_string(hide_password=False)
    # An audit trail made by people using the portal: a wrong password, then sign-ins.
    assert login(live_app.test_client(), usernames[0], "Wrong-password-1!").status_code == 401
    for username in usernames:
        assert login(live_app.test_client(), username).status_code == 303

    dump = tmp_path / "portal.dump"
    pg_dump, pg_restore = shutil.which("pg_dump"), shutil.which("pg_restore")
    subprocess.run(
        [pg_dump, "--format=custom", "--file", str(dump), libpq_url(source_url)], check=True
    )
    subprocess.run(
        [
            pg_restore,
            "--no-owner",
            "--exit-on-error",
            "--dbname",
            libpq_url(restored_url),
            str(dump),
        ],
        check=True,
    )

    # The audit trail: every event, every field, in order.
    audit = "SELECT * FROM audit_events ORDER BY id"
    original_events = rows(source_url, audit)
    assert len(original_events) >= len(people) + 1
    assert rows(restored_url, audit) == original_events
    assert rows(restored_url, "SELECT version_num FROM alembic_version") == rows(
        source_url, "SELECT version_num FROM alembic_version"
    )

    restored = make_app(restored_url)
    with restored.app_context():
        # Every ID number decrypts with the keys, and its look-up digest still matches.
        accounts = db.session.scalars(sa.select(Account)).all()
        assert sorted(decrypt_national_id(a.national_id_encrypted) for a in accounts) == sorted(
            people
        )
        for account in accounts:
            national_id = decrypt_national_id(account.national_id_encrypted)
            assert account.national_id_digest == national_id_digest(national_id)
        # The restored trail is still append-only: its triggers came with it.
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(sa.text("UPDATE audit_events SET action = 'tampered'"))
        db.session.rollback()
        db.engine.dispose()
    # The copy serves: people sign in to it as before.
    assert login(restored.test_client(), usernames[1]).status_code == 303
    with restored.app_context():
        db.engine.dispose()
