"""Driving the server with wrk: one generated Lua script per scenario, one parsed result.

Every scenario is a list of prepared requests that wrk cycles through; the Lua script is
generated from that list, so varying passwords, queries or application numbers needs no
Lua beyond the loop below. `done()` prints one machine-readable line that Python parses.
"""

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WARMUP_SECONDS = int(os.environ.get("BENCH_WARMUP_SECONDS", "2"))
# Each scenario's seconds are cut into rounds (bench/measure.py): a burst of unrelated work
# on a shared machine then spoils one round rather than the figure, and gunicorn's workers
# get a fresh share of the connections each round (a keep-alive connection stays with the
# worker that accepted it, so one run can leave a worker with most of the clients).
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
# One wrk thread: it easily drives 32 connections at these rates, and a second thread would
# take CPU from the server on a 2-core machine.
WRK_THREADS = 1
RESULT_MARKER = "BENCH-RESULT"

LUA_LOOP = """
function request()
  position = position % #requests + 1
  return requests[position]
end

function done(summary, latency, _)
  local errors = summary.errors
  io.write(string.format(
    "%s requests=%d duration_us=%d p50=%d p95=%d p99=%d status=%d connect=%d read=%d "
    .. "write=%d timeout=%d\\n",
    "RESULT_MARKER", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    errors.status, errors.connect, errors.read, errors.write, errors.timeout))
end
""".replace("RESULT_MARKER", RESULT_MARKER)


@dataclass(frozen=True)
class Request:
    """One prepared HTTP request."""

    method: str
    path: str
    headers: dict[str, str]
    body: str | None = None


@dataclass(frozen=True)
class Measurement:
    """What wrk saw: throughput, latency percentiles (ms) and failed requests."""

    requests: int
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    seconds: float = 0.0
    # CPU milliseconds per request of gunicorn's workers and of PostgreSQL (bench/cpu.py).
    app_cpu_ms: float | None = None
    db_cpu_ms: float | None = None
    # Share of the machine's CPU taken by other processes meanwhile (noise, not the portal).
    other_cpu_share: float | None = None


def lua_string(value: str) -> str:
    """A Lua string literal for any text: bytes outside printable ASCII as decimal escapes."""
    out = []
    for byte in value.encode():
        char = chr(byte)
        if char in '\\"' or not 32 <= byte < 127:
            out.append(f"\\{byte:03d}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def lua_script(requests: list[Request]) -> str:
    """The wrk script: the prepared requests, formatted once at start-up, then the loop."""
    entries = []
    for item in requests:
        headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in item.headers.items())
        body = lua_string(item.body) if item.body is not None else "nil"
        entries.append(
            f"  wrk.format({lua_string(item.method)}, {lua_string(item.path)}, "
            f"{{{headers}}}, {body}),"
        )
    # Built in init(): wrk knows the Host header only once it has parsed the URL. The first
    # argument is where to start in the list, so that rounds do not replay the same requests.
    return (
        "function init(args)\n requests = {\n"
        + "\n".join(entries)
        + "\n }\n position = (tonumber(args[1]) or 0) % #requests\nend\n"
        + LUA_LOOP
    )


def ensure_wrk() -> str:
    """The wrk executable; installed with apt-get when missing and we are root on Debian."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        # `make bench` installs it through system-deps already; this covers a bare run.
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is missing: `apt-get install wrk` (or `make system-deps`)")
    return found


def run_wrk(
    base_url: str,
    requests: list[Request],
    script: Path,
    seconds: int,
    connections: int = CONNECTIONS,
    offset: int = 0,
) -> Measurement:
    """Run wrk for `seconds` with `connections` clients cycling through `requests`.

    wrk starts at `offset` in the list: a scenario of distinct requests (search queries that
    must not be answered from a cache) passes the number of requests already sent.
    """
    script.write_text(lua_script(requests), encoding="ascii")
    command = [
        ensure_wrk(),
        f"--threads={WRK_THREADS}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        f"--script={script}",
        base_url,
        "--",
        str(offset),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}):\n{completed.stderr}")
    return parse_result(completed.stdout)


def parse_result(output: str) -> Measurement:
    """The numbers of the line our `done()` printed."""
    line = next((row for row in output.splitlines() if row.startswith(RESULT_MARKER)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result line:\n{output}")
    values = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}
    errors = sum(values[key] for key in ("status", "connect", "read", "write", "timeout"))
    return Measurement(
        requests=values["requests"],
        requests_per_second=values["requests"] / (values["duration_us"] / 1_000_000),
        p50_ms=values["p50"] / 1000,
        p95_ms=values["p95"] / 1000,
        p99_ms=values["p99"] / 1000,
        errors=errors,
        seconds=values["duration_us"] / 1_000_000,
    )
