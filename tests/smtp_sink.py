"""A local SMTP server (aiosmtpd) that keeps what it receives, for tests to read."""

import socket
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpSink:
    """An SMTP server on 127.0.0.1 with a free port."""

    def __init__(self) -> None:
        self._handler = _Handler()
        self._port = _free_port()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self._port)

    def start(self) -> None:
        """Start serving."""
        self._controller.start()

    def stop(self) -> None:
        """Stop serving."""
        self._controller.stop()

    @property
    def port(self) -> int:
        """The port it listens on."""
        return self._port

    @property
    def messages(self) -> list[EmailMessage]:
        """Everything received since the last clear()."""
        with self._handler.lock:
            return list(self._handler.messages)

    def clear(self) -> None:
        """Forget what was received."""
        with self._handler.lock:
            self._handler.messages.clear()

    def wait_for(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        """Wait until at least `count` messages arrived; return them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return self.messages
            time.sleep(0.05)
        raise AssertionError(f"expected {count} message(s), got {len(self.messages)}")
