"""The sessions the portal ended (back-channel logout), kept where every worker sees them.

The relying party keeps its own sessions in signed cookies; a logout token names a session
(`sid`) that this process cannot reach, so the ended ones are written to a small SQLite file
and every request checks its session against it.
"""

import sqlite3
import time
from pathlib import Path


class EndedSessions:
    """Session ids the portal said are over."""

    def __init__(self, path: str) -> None:
        self.path = path
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS ended (sid TEXT PRIMARY KEY, sub TEXT, at REAL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=5)

    def end(self, sid: str | None, sub: str | None) -> None:
        """Record that this session (or, with no sid, every session of sub) is over."""
        with self._connect() as connection:
            connection.execute(
                "INSERT OR REPLACE INTO ended (sid, sub, at) VALUES (?, ?, ?)",
                (sid or f"sub:{sub}", sub, time.time()),
            )

    def is_ended(self, sid: str | None, sub: str | None, signed_in_at: float) -> bool:
        """Whether the session was ended (by its sid, or all of its subject's since then)."""
        with self._connect() as connection:
            row = connection.execute(
                "SELECT 1 FROM ended WHERE sid = ? OR (sid = ? AND at >= ?)",
                (sid or "", f"sub:{sub}", signed_in_at),
            ).fetchone()
        return row is not None
