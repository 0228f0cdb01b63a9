"""One card operation at a time, each bounded by a timeout, and only portal challenges signed.

A card is a single, slow, stateful device: two browser tabs must not interleave their
SELECT/VERIFY/SIGN sequences, and a card that stops answering must not hang the page.
Whatever is not a portal challenge (challenge.py) is refused before the card is touched.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from card_helper.backends.base import BackendStatus, CardBackend, CardTimeout, SignResult
from card_helper.challenge import check_challenge

T = TypeVar("T")


class CardService:
    """Runs backend calls on one worker thread and gives up after `timeout` seconds."""

    def __init__(self, backend: CardBackend, timeout: float) -> None:
        self.backend = backend
        self.timeout = timeout
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="card")

    def status(self) -> BackendStatus:
        """The backend's readers and cards."""
        return self._run(self.backend.status)

    def sign(self, challenge: bytes, pin: str, origin: str) -> SignResult:
        """The card's certificate and signature over `challenge`, a portal challenge naming
        `origin` (the page's); NotAChallenge, and no card operation, for anything else."""
        check_challenge(challenge, origin)
        return self._run(lambda: self.backend.sign(challenge, pin))

    def _run(self, operation: Callable[[], T]) -> T:
        future = self._worker.submit(operation)
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            # A queued call is dropped so a PIN is never presented after the page gave up;
            # one already talking to the card cannot be interrupted and finishes on its own.
            future.cancel()
            raise CardTimeout(f"no answer within {self.timeout:g} s") from None

    def close(self) -> None:
        """Stop the worker once the running call (if any) returns."""
        self._worker.shutdown(wait=False, cancel_futures=True)
