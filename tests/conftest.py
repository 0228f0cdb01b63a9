"""Test fixtures: a migrated database on SQLite or PostgreSQL, per-test rollback, SMTP sink.

`TEST_DATABASE` picks the engine for the whole run: "sqlite" (default) or "postgresql"
(`TEST_POSTGRES_URL`, default the local server). The schema always comes from the Alembic
migrations. Each test runs inside a transaction that is rolled back; tests that need
committed data from several connections (races, a live server) ask for `fresh_database`,
a copy of the migrated template that is thrown away afterwards.
"""

import contextvars
import os
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from werkzeug.serving import BaseWSGIServer, make_server

from portal import create_app
from portal.extensions import db, limiter
from portal.outbox.services import DeliveryReport
from portal.worker import run, run_once
from tests.smtp_sink import SmtpSink

# The test PKI and the PC/SC stack, for tests/cards and tests/browser alike (one pcscd).
pytest_plugins = ("tests.cards.fixtures",)

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres:postgres@127.0.0.1:5432/postgres"


@dataclass
class TestDatabase:
    """A migrated template database and a way to copy it."""

    kind: str
    url: str
    workdir: Path

    def clone(self) -> str:
        """A new database with the template's schema and data; its URL."""
        name = f"portal_test_{uuid.uuid4().hex[:12]}"
        if self.kind == "sqlite":
            target = self.workdir / f"{name}.db"
            shutil.copyfile(self.url.removeprefix("sqlite:///"), target)
            return f"sqlite:///{target}"
        template = sa.make_url(self.url).database
        _postgres_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return str(sa.make_url(self.url).set(database=name).render_as_string(hide_password=False))

    def drop(self, url: str) -> None:
        """Throw away a clone."""
        if self.kind == "sqlite":
            Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        else:
            name = sa.make_url(url).database
            _postgres_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_admin(statement: str) -> None:
    url = sa.make_url(os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql(statement)
    finally:
        engine.dispose()


def deliver_outbox(app: Flask) -> DeliveryReport:
    """Send what the outbox holds, once, in a context of its own, as the worker would."""
    return contextvars.Context().run(run_once, app)


class IsolatedClient(FlaskClient):
    """A test client whose requests run in their own context, as on a real server.

    Without this, a request made while the test holds an app context would reuse it, and
    `g` (CSRF token, signed-in user) would leak from one request into the next. The body
    is read within the request's context too, as a server does: a streamed response
    (stream_with_context) needs the context it was made in.

    After each request the worker's pass runs once, so the mail a request queued goes out
    over real SMTP to the sink before the test reads it; `deliver_outbox = False` leaves it
    queued (tests of the outbox itself, timings of the request alone).
    """

    deliver_outbox = True

    def open(self, *args, **kwargs):
        """Make the request, and read its body, outside the test's contexts; then deliver."""
        kwargs.setdefault("buffered", True)
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if self.deliver_outbox:
            deliver_outbox(self.application)
        return response


def make_app(database_url: str, **overrides) -> Flask:
    """The portal configured for tests against the given database."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, **overrides})
    app.test_client_class = IsolatedClient
    return app


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked postgres_only are left out of a SQLite run (deselected, not skipped)."""
    if os.environ.get("TEST_DATABASE", "sqlite") == "postgresql":
        return
    left_out = [item for item in items if item.get_closest_marker("postgres_only")]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        items[:] = [item for item in items if item not in left_out]


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server on 127.0.0.1 that keeps every message it receives."""
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture(scope="session")
def database(tmp_path_factory, smtp_sink) -> Iterator[TestDatabase]:
    """The template database, built by running every migration."""
    kind = os.environ.get("TEST_DATABASE", "sqlite")
    workdir = tmp_path_factory.mktemp("db")
    if kind == "sqlite":
        url = f"sqlite:///{workdir / 'template.db'}"
    elif kind == "postgresql":
        name = f"portal_template_{uuid.uuid4().hex[:12]}"
        _postgres_admin(f'CREATE DATABASE "{name}"')
        base = sa.make_url(os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
        url = base.set(database=name).render_as_string(hide_password=False)
    else:
        raise pytest.UsageError(f"TEST_DATABASE must be sqlite or postgresql, not {kind!r}")
    app = make_app(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    template = TestDatabase(kind, url, workdir)
    yield template
    if kind == "postgresql":
        template.drop(url)


@pytest.fixture(scope="session")
def app(database, smtp_sink) -> Iterator[Flask]:
    """The application under test, on its own copy of the template.

    The template itself is never connected to, so that PostgreSQL can copy it any time.
    """
    url = database.clone()
    application = make_app(url, MAIL_PORT=smtp_sink.port)
    yield application
    with application.app_context():
        db.engine.dispose()
    database.drop(url)


@pytest.fixture(autouse=True)
def _isolated(request, smtp_sink) -> Iterator[None]:
    """Every test starts with no mail and fresh rate-limit counters."""
    smtp_sink.clear()
    yield
    if "app" in request.fixturenames:
        limiter.reset()


@pytest.fixture
def uploads(app, tmp_path):
    """Scans, and the public site's files, go to this test's own folder (its path), not the
    instance folder."""
    saved = app.config["UPLOAD_DIR"], app.config["CONTENT_UPLOAD_DIR"]
    app.config["UPLOAD_DIR"] = str(tmp_path / "uploads")
    app.config["CONTENT_UPLOAD_DIR"] = str(tmp_path / "content-files")
    yield tmp_path / "uploads"
    app.config["UPLOAD_DIR"], app.config["CONTENT_UPLOAD_DIR"] = saved


@pytest.fixture
def db_session(app) -> Iterator:
    """The session, inside a transaction rolled back after the test.

    The app's engine is swapped for one connection holding an outer transaction; every
    commit the code makes becomes a savepoint within it.
    """
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        engines = db.engines
        original = engines[None]
        engines[None] = connection
        db.session.configure(join_transaction_mode="create_savepoint")
        try:
            yield db.session
        finally:
            db.session.remove()
            engines[None] = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app, db_session):
    """A test client whose requests share the test's rolled-back transaction."""
    return app.test_client()


@pytest.fixture
def fresh_database(database) -> Iterator[str]:
    """The URL of a throw-away copy of the migrated database, for committed data."""
    url = database.clone()
    yield url
    database.drop(url)


@pytest.fixture
def live_app(fresh_database, smtp_sink) -> Iterator[Flask]:
    """An application on its own committed database."""
    application = make_app(fresh_database, MAIL_PORT=smtp_sink.port)
    yield application
    with application.app_context():
        db.engine.dispose()


@contextmanager
def serving(server: BaseWSGIServer) -> Iterator[str]:
    """Serve in a thread, with the worker beside it as in production, until the block ends;
    the server's base URL. (`server.app` is the portal by the time the block starts.)"""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    stop_worker = threading.Event()
    worker = threading.Thread(target=run, args=(server.app, stop_worker), daemon=True)
    thread.start()
    worker.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        stop_worker.set()
        server.shutdown()
        thread.join(timeout=5)
        worker.join(timeout=5)
        server.server_close()


@pytest.fixture
def live_server(live_app) -> Iterator[str]:
    """The live app served over HTTP on 127.0.0.1; its base URL."""
    with serving(make_server("127.0.0.1", 0, live_app, threaded=True)) as url:
        yield url
