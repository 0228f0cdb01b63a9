"""gunicorn's settings for the portal: `gunicorn -c python:portal.gunicorn_config wsgi:app`.

- Logs: gunicorn's own messages (workers started, timed out) in the app's format, JSON by
  default, on standard error. gunicorn writes no access log: the app logs each request with
  its request id and route, and never the path, which may carry a reset link's token.
- Metrics: with several workers, set PROMETHEUS_MULTIPROC_DIR to a folder only gunicorn
  uses. It is emptied when gunicorn starts (a previous run's counts would add to this
  one's), and an exited worker's files are marked dead (prometheus_client's rule).
"""

import os
from pathlib import Path

from gunicorn.glogging import Logger

from portal.observability.logs import JsonLogFormatter

accesslog = None


def log_format() -> str:
    """LOG_FORMAT as the app will read it: json, except text for development."""
    default = "text" if os.environ.get("PORTAL_ENV") == "development" else "json"
    return os.environ.get("LOG_FORMAT") or default


class PortalLogger(Logger):
    """gunicorn's logger, writing JSON lines when the app does."""

    def setup(self, cfg) -> None:
        """gunicorn's setup (again on HUP), then the portal's formatter on its handlers."""
        super().setup(cfg)
        if log_format() == "json":
            for handler in self.error_log.handlers:
                handler.setFormatter(JsonLogFormatter())


logger_class = PortalLogger


def on_starting(server) -> None:
    """Empty PROMETHEUS_MULTIPROC_DIR before any worker writes to it."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        return
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()


def child_exit(server, worker) -> None:
    """Drop an exited worker's live gauges (counters and histograms stay counted)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
