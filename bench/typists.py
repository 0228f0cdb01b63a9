"""People typing: each sends at most one request per debounce, at a moment of their own.

The meter and the institution search are asked by pages, not by clients in a loop: the
page's `hx-trigger` waits for a pause in typing, so each person sends at most one request
per debounce. wrk can pause between requests (its `delay()` hook), but it opens the next
connection first and then waits on it, idle; a sync gunicorn worker that accepted it waits
too, and the other people's requests queue behind a connection with nothing to say (the
figures showed it: p50 110 ms with random pauses against 5 ms with none). A browser sends
a request when it has one, and starts everyone at the same instant only in a benchmark.

So this client, in asyncio on one thread: every person starts at a random moment within the
first debounce, then repeats: connect, send, read the whole answer, close, wait one
debounce. Latency is from the connect to the last byte, as the person sees it.
"""

import asyncio
import random
import statistics
import time
from dataclasses import dataclass

from bench.load import Measurement, Request

CONNECT_TIMEOUT_SECONDS = 10
# Answers this much larger than expected mean something is wrong; stop reading there.
MAX_ANSWER_BYTES = 1 << 20


@dataclass
class _Tally:
    latencies_ms: list[float]
    errors: int = 0


@dataclass(frozen=True)
class Typists:
    """`people` typing for `seconds`, cycling through `requests` from `offset` on."""

    host: str
    port: int
    requests: list[Request]
    seconds: float
    people: int
    pause_ms: int
    offset: int = 0
    seed: int = 0

    def run(self) -> Measurement:
        """Let them type; what they saw."""
        return asyncio.run(_run(self))


async def _run(load: Typists) -> Measurement:
    host, port, pause_ms = load.host, load.port, load.pause_ms
    tally = _Tally([])
    rng = random.Random(load.seed)
    wires = [_wire(item, host, port) for item in load.requests]
    started = time.monotonic()
    deadline = started + load.seconds
    counter = iter(range(load.offset, load.offset + 10**9))

    async def person(first_wait: float) -> None:
        await asyncio.sleep(first_wait)
        while time.monotonic() < deadline:
            wire = wires[next(counter) % len(wires)]
            await _send(host, port, wire, tally)
            await asyncio.sleep(pause_ms / 1000)

    await asyncio.gather(*(person(rng.uniform(0, pause_ms / 1000)) for _ in range(load.people)))
    elapsed = time.monotonic() - started
    return _measurement(tally, elapsed)


async def _send(host: str, port: int, wire: bytes, tally: _Tally) -> None:
    begun = time.perf_counter()
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port), CONNECT_TIMEOUT_SECONDS
        )
        try:
            writer.write(wire)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(MAX_ANSWER_BYTES), 10)
            while chunk := await asyncio.wait_for(reader.read(MAX_ANSWER_BYTES), 10):
                answer += chunk
        finally:
            writer.close()
    except (TimeoutError, OSError):
        tally.errors += 1
        return
    tally.latencies_ms.append((time.perf_counter() - begun) * 1000)
    status = answer[9:12]
    if not answer.startswith(b"HTTP/1.") or not status.isdigit() or int(status) >= 400:
        tally.errors += 1


def _wire(item: Request, host: str, port: int) -> bytes:
    """The request as bytes, asking the server to close the connection after answering."""
    body = (item.body or "").encode()
    headers = {
        "Host": f"{host}:{port}",
        **item.headers,
        "Connection": "close",
        "Content-Length": str(len(body)),
    }
    if item.body is None:
        del headers["Content-Length"]
    head = f"{item.method} {item.path} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    return head.encode() + b"\r\n" + body


def _measurement(tally: _Tally, elapsed: float) -> Measurement:
    latencies = sorted(tally.latencies_ms) or [0.0]

    def percentile(share: float) -> float:
        return latencies[min(len(latencies) - 1, int(share * len(latencies)))]

    return Measurement(
        requests=len(tally.latencies_ms),
        requests_per_second=len(tally.latencies_ms) / elapsed,
        p50_ms=statistics.median(latencies),
        p95_ms=percentile(0.95),
        p99_ms=percentile(0.99),
        errors=tally.errors,
        seconds=elapsed,
    )
