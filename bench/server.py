"""Running the portal under gunicorn for the length of a benchmark."""

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gunicorn.config import KNOWN_SETTINGS
from sqlalchemy import make_url

from bench.database import Secrets

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STARTUP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class ServerOptions:
    """How gunicorn runs; BENCH_WORKERS, BENCH_THREADS, BENCH_WORKER_CLASS override.

    Default: 2 sync workers, one process per core. Measured on the 2-core machine against
    2 gthread workers × 4 threads (what `make run` uses), 3 sync workers and gthread without
    keep-alive, rounds alternating so all saw the same machine load (median of 6 rounds):

    | scenario (32 clients)       | sync ×2 req/s, p95 | gthread 2×4 req/s, p95 |
    |-----------------------------|--------------------|------------------------|
    | institution search (cached) | 1631, 25 ms        | 960, 65 ms             |
    | password meter              | 452, 86 ms         | 423, 168 ms            |
    | status look-up              | 230, 168 ms        | 185, 292 ms            |

    sync also used 5-30 % less CPU per request. Why: with keep-alive, a gthread worker keeps
    every connection it accepted, and one run left a worker with almost all 32 clients and
    the other idle (0.1 s against 5 s of CPU); and four threads sharing one GIL stretch each
    request over the others' time slices, which is what p95 shows. A sync worker takes one
    connection at a time and closes it, so the kernel spreads requests over both. (sync must
    keep threads at 1: gunicorn turns a sync worker with threads into gthread.)
    """

    workers: int = int(os.environ.get("BENCH_WORKERS", "2"))
    threads: int = int(os.environ.get("BENCH_THREADS", "1"))
    worker_class: str = os.environ.get("BENCH_WORKER_CLASS", "sync")
    keep_alive: int = int(os.environ.get("BENCH_KEEP_ALIVE", "2"))

    def describe(self) -> str:
        """One line for the report."""
        if self.worker_class == "sync":
            return f"gunicorn {self.workers} sync workers"
        return (
            f"gunicorn {self.workers} {self.worker_class} workers × {self.threads} threads, "
            f"keep-alive {self.keep_alive} s"
        )


@dataclass(frozen=True)
class Server:
    """A running server: where to reach it."""

    host: str
    port: int
    pid: int = 0  # gunicorn's master; its children are the workers
    database: str = ""  # the database it serves, to find its PostgreSQL backends

    def get(self, path: str, headers: dict[str, str] | None = None) -> "Reply":
        """One request from Python, for set-up and sanity checks (not for measuring)."""
        return self.request("GET", path, headers=headers)

    def request(
        self, method: str, path: str, body: str | None = None, headers: dict | None = None
    ) -> "Reply":
        """Send one request and read the whole response."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read().decode())
        finally:
            connection.close()


@dataclass(frozen=True)
class Reply:
    """A response read whole: status, headers, and the body as text."""

    status: int
    headers: http.client.HTTPMessage
    body: str


def free_port() -> int:
    """A TCP port nothing listens on now (the kernel picks it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(database_url: str, keys: Secrets, instance_path: Path) -> dict[str, str]:
    """Production settings pointed at the bench database, over plain HTTP, limiter off."""
    return {
        **os.environ,
        **keys.as_config(),
        "PORTAL_ENV": "production",
        "DATABASE_URL": database_url,
        "SESSION_COOKIE_SECURE": "false",
        # The benchmark measures the application, not the rate limiter: with it on, every
        # scenario would measure 429 pages after the first few hundred requests.
        "RATELIMIT_ENABLED": "false",
        # A private instance folder: a developer's instance/portal.cfg must not redirect
        # the server to another database.
        "PORTAL_INSTANCE_PATH": str(instance_path),
    }


@contextmanager
def gunicorn(environment: dict[str, str], options: ServerOptions, log: Path) -> Iterator[Server]:
    """Start gunicorn on a free port, wait until /healthz answers, stop it on the way out."""
    host, port = "127.0.0.1", free_port()
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        f"--bind={host}:{port}",
        f"--workers={options.workers}",
        f"--threads={options.threads}",
        f"--worker-class={options.worker_class}",
        f"--keep-alive={options.keep_alive}",
        "--graceful-timeout=5",
        f"--error-logfile={log}",
        *_no_control_socket(),
        "bench.floor_app:app",
    ]
    with log.open("ab") as log_file:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environment, stdout=log_file, stderr=log_file
        )
    server = Server(host, port, process.pid, make_url(environment["DATABASE_URL"]).database)
    try:
        _wait_until_healthy(server, process, log)
        yield server
    except Exception:
        # The log lives in a temporary folder that is about to go: show why the server failed.
        print(f"gunicorn log (last lines):\n{_tail(log)}", file=sys.stderr)
        raise
    finally:
        _stop(process)


def _no_control_socket() -> list[str]:
    """Recent gunicorn opens ~/.gunicorn/gunicorn.ctl: ours must not take over `make run`'s."""
    names = {setting.name for setting in KNOWN_SETTINGS}
    return ["--no-control-socket"] if "control_socket_disable" in names else []


def _wait_until_healthy(server: Server, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{_tail(log)}")
        try:
            if server.get("/healthz").status == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz in time:\n{_tail(log)}")


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the master (it stops its workers); SIGKILL if it will not go."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
