"""SQLite as the embedded engine: foreign keys on, and transactions SQLAlchemy controls.

pysqlite opens transactions lazily and mishandles SAVEPOINT; SQLAlchemy's documented fix
is to turn its handling off and emit BEGIN ourselves ("Serializable isolation / Savepoints /
Transactional DDL" in the SQLAlchemy SQLite dialect docs).
"""

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 15_000


def _on_connect(dbapi_connection, connection_record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.close()


def _on_begin(connection) -> None:
    if connection.dialect.name == "sqlite":
        # IMMEDIATE takes the write lock up front: two writers then queue on busy_timeout
        # instead of one failing at once when both try to upgrade a read lock.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def configure_sqlite() -> None:
    """Register the listeners once for every engine the process creates."""
    if not event.contains(Engine, "connect", _on_connect):
        event.listen(Engine, "connect", _on_connect)
        event.listen(Engine, "begin", _on_begin)
