"""`flask db upgrade` on a live PostgreSQL database gives up on a lock it cannot get soon,
instead of holding every sign-in behind it (MIGRATION_LOCK_TIMEOUT, migrations/env.py)."""

import shutil
import threading
import time

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from flask_migrate import upgrade
from psycopg.errors import LockNotAvailable

from portal.accounts.models import AccountState
from portal.config import PROJECT_ROOT
from portal.extensions import db
from tests import factories
from tests.functional.auth_helpers import login

pytestmark = pytest.mark.postgres_only

# A step that needs the accounts table to itself, as adding a column does.
PROBE_REVISION = '''"""Test only: a column on accounts."""

import sqlalchemy as sa
from alembic import op

revision = "probe"
down_revision = "{head}"


def upgrade():
    op.add_column("accounts", sa.Column("probe", sa.Integer()))


def downgrade():
    op.drop_column("accounts", "probe")
'''


@pytest.fixture
def migrations_with_a_probe(tmp_path):
    """The project's migrations, env.py included, plus one step that locks accounts."""
    directory = tmp_path / "migrations"
    shutil.copytree(PROJECT_ROOT / "migrations", directory)
    head = ScriptDirectory(str(directory)).get_current_head()
    (directory / "versions" / "9999_probe.py").write_text(PROBE_REVISION.format(head=head))
    return str(directory)


def test_a_migration_gives_up_on_a_busy_table_and_sign_ins_go_on(live_app, migrations_with_a_probe):
    live_app.config["MIGRATION_LOCK_TIMEOUT"] = "1s"
    with live_app.app_context():
        person = factories.account(state=AccountState.ACTIVE)
        db.session.commit()
        username = person.username
        url = db.engine.url

    # A long report reading accounts holds a share lock until it ends.
    report_engine = sa.create_engine(url)
    report = report_engine.connect()
    report.execute(sa.text("SELECT count(*) FROM accounts"))

    outcome: dict = {}

    def migrate() -> None:
        started = time.monotonic()
        with live_app.app_context():
            try:
                upgrade(directory=migrations_with_a_probe)
            except sa.exc.OperationalError as error:
                outcome["error"] = error
        outcome["migration_seconds"] = time.monotonic() - started

    def sign_in() -> None:
        time.sleep(0.3)  # the migration is now waiting for its lock
        started = time.monotonic()
        outcome["sign_in"] = login(live_app.test_client(), username)
        outcome["sign_in_seconds"] = time.monotonic() - started

    threads = [threading.Thread(target=migrate), threading.Thread(target=sign_in)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        report.close()
        report_engine.dispose()

    # The migration stopped after about a second, with PostgreSQL's lock timeout…
    assert isinstance(outcome.get("error").orig, LockNotAvailable)
    assert "lock timeout" in str(outcome["error"])
    assert outcome["migration_seconds"] < 5
    # …and the sign-in queued behind it went through as soon as it did.
    assert outcome["sign_in"].status_code == 303
    assert outcome["sign_in_seconds"] < 5
    with live_app.app_context():
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("accounts")}
        assert "probe" not in columns
        version = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        assert version != "probe"
        # The pool's connections are back to the server's timeouts.
        assert db.session.scalar(sa.text("SHOW lock_timeout")) == "0"


def test_with_the_table_free_the_same_migration_runs(live_app, migrations_with_a_probe):
    live_app.config["MIGRATION_LOCK_TIMEOUT"] = "1s"
    with live_app.app_context():
        upgrade(directory=migrations_with_a_probe)
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("accounts")}
        assert "probe" in columns
