"""The helper's HTTP API on 127.0.0.1, for the configured portal origin only.

    GET  /v1/status   version, state (no_reader, no_card, ready), readers, backend
    POST /v1/sign     {"challenge": base64, "pin": "..."} -> certificate + signature

/v1/sign signs only a portal challenge naming the request's origin (challenge.py); anything
else is refused with 400 "not_a_challenge" before the card is touched.
Errors are JSON: {"error": code, "message": 繁體中文 for the clerk, "tries_left"?: n}.
Only the configured origin gets CORS headers; any other Origin, or none, is refused with
403, and so is a Host that is not loopback (DNS rebinding). Request bodies are never
logged: they carry the PIN.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from card_helper import __version__
from card_helper.backends.base import (
    PIN_MAX_LENGTH,
    PIN_MIN_LENGTH,
    BackendStatus,
    CardError,
    SignResult,
)
from card_helper.service import CardService

logger = logging.getLogger("card_helper")

DEFAULT_PORT = 31611
MAX_BODY = 16 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True)
class HelperConfig:
    """Where the helper listens and whom it answers."""

    origins: tuple[str, ...]
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    timeout: float = 30.0


def normalize_origin(origin: str) -> str:
    """scheme://host[:port] in lower case, as browsers send it in `Origin`."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"not an origin: {origin!r} (expected e.g. https://portal.example)")
    return f"{parts.scheme}://{parts.netloc}".lower()


class RequestRefused(CardError):
    """The request itself is unacceptable (bad JSON, bad PIN format, wrong origin)."""

    def __init__(self, status: HTTPStatus, code: str, message: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.http_status, self.code, self.message = status, code, message  # type: ignore[misc]


class HelperServer(ThreadingHTTPServer):
    """A threading HTTP server carrying the configuration and the card service."""

    daemon_threads = True

    def __init__(self, config: HelperConfig, service: CardService) -> None:
        self.config = config
        self.service = service
        self.origins = frozenset(normalize_origin(origin) for origin in config.origins)
        super().__init__((config.host, config.port), HelperHandler)

    @property
    def port(self) -> int:
        """The port actually bound (differs from the configured one when that is 0)."""
        return int(self.server_address[1])


class HelperHandler(BaseHTTPRequestHandler):
    """One request: check where it comes from, then status or sign."""

    server: HelperServer
    server_version = f"card-helper/{__version__}"

    def do_OPTIONS(self) -> None:  # noqa: N802 (http.server's naming)
        """CORS preflight, including Chrome's private network access preflight."""
        origin = self._checked_origin()
        if origin is None:
            return
        self.send_response(HTTPStatus.NO_CONTENT)
        self._cors_headers(origin)
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", "Content-Type")
        self.send_header("Access-Control-Allow-Private-Network", "true")
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:  # noqa: N802
        """GET /v1/status."""
        origin = self._checked_origin()
        if origin is None:
            return
        if self.path != "/v1/status":
            self._send_error(origin, _not_found())
            return
        try:
            status = self.server.service.status()
        except CardError as error:
            self._send_error(origin, error)
            return
        self._send_json(origin, HTTPStatus.OK, status_json(status))

    def do_POST(self) -> None:  # noqa: N802
        """POST /v1/sign."""
        origin = self._checked_origin()
        if origin is None:
            return
        if self.path != "/v1/sign":
            self._send_error(origin, _not_found())
            return
        try:
            challenge, pin = self._sign_request()
            result = self.server.service.sign(challenge, pin, origin)
        except CardError as error:
            self._send_error(origin, error)
            return
        self._send_json(origin, HTTPStatus.OK, sign_json(result))

    def _checked_origin(self) -> str | None:
        """The request's allowed Origin, or None after answering 403."""
        host = (self.headers.get("Host") or "").lower()
        origin = self.headers.get("Origin", "").lower()
        if host not in {f"{name}:{self.server.port}" for name in LOOPBACK_HOSTS}:
            refused = RequestRefused(
                HTTPStatus.FORBIDDEN, "host_not_allowed", "讀卡程式只接受本機（127.0.0.1）的連線。"
            )
        elif origin not in self.server.origins:
            refused = RequestRefused(
                HTTPStatus.FORBIDDEN,
                "origin_not_allowed",
                "這個網站不是讀卡程式設定的入口網站，已拒絕讀卡要求。",
            )
        else:
            return origin
        logger.warning("refused %s from origin %r host %r", self.command, origin, host)
        self._send_json(None, refused.http_status, refused.to_json())
        return None

    def _sign_request(self) -> tuple[bytes, str]:
        """The challenge and PIN from the JSON body, checked for shape."""
        if self.headers.get_content_type() != "application/json":
            raise _bad_request("Content-Type must be application/json")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            raise _bad_request("Content-Length missing") from None
        if not 0 < length <= MAX_BODY:
            raise _bad_request(f"body of {length} bytes")
        try:
            body = json.loads(self.rfile.read(length))
            challenge = base64.b64decode(body["challenge"], validate=True)
            pin = body["pin"]
        except (ValueError, KeyError, TypeError, binascii.Error):
            # The exception text could quote the body, and so the PIN: log only its kind.
            raise _bad_request("body is not {challenge: base64, pin: string}") from None
        if not (
            isinstance(pin, str)
            and pin.isascii()
            and pin.isprintable()
            and PIN_MIN_LENGTH <= len(pin) <= PIN_MAX_LENGTH
        ):
            message = f"請輸入機構卡的 PIN 碼（{PIN_MIN_LENGTH} 到 {PIN_MAX_LENGTH} 碼）。"
            raise RequestRefused(
                HTTPStatus.BAD_REQUEST, "invalid_pin", message, "PIN has the wrong format"
            )
        return challenge, pin

    def _cors_headers(self, origin: str) -> None:
        self.send_header("Access-Control-Allow-Origin", origin)
        self.send_header("Vary", "Origin")

    def _send_error(self, origin: str | None, error: CardError) -> None:
        logger.info("%s %s failed: %s (%s)", self.command, self.path, error.code, error.detail)
        self._send_json(origin, HTTPStatus(error.http_status), error.to_json())

    def _send_json(self, origin: str | None, status: HTTPStatus, body: dict[str, Any]) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        if origin is not None:
            self._cors_headers(origin)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        """Access log through `logging`; it holds the request line only, never a body."""
        logger.info("%s %s", self.address_string(), format % args)


def status_json(status: BackendStatus) -> dict[str, Any]:
    """GET /v1/status's body, with a `state` code and a sentence the page can show as is.

    Pages written for 1.0 read `readers` and `card_present`; those stay as they were.
    """
    if not status.readers:
        state, message = "no_reader", "找不到讀卡機，請確認讀卡機已接上電腦。"
    elif not status.card_present:
        state, message = "no_card", "讀卡機已就緒，請插入醫事機構卡。"
    else:
        state, message = "ready", "讀卡機與機構卡已就緒，請輸入 PIN 碼。"
    return {
        "state": state,
        "backend": status.backend,
        "version": __version__,
        "readers": [{"name": r.name, "card_present": r.card_present} for r in status.readers],
        "card_present": status.card_present,
        "message": message,
    }


def sign_json(result: SignResult) -> dict[str, Any]:
    """POST /v1/sign's body."""
    return {
        "certificate": base64.b64encode(result.certificate_der).decode("ascii"),
        "signature": base64.b64encode(result.signature).decode("ascii"),
        "algorithm": result.algorithm,
        "reader": result.reader,
    }


def _bad_request(detail: str) -> RequestRefused:
    return RequestRefused(
        HTTPStatus.BAD_REQUEST,
        "bad_request",
        "讀卡要求的格式不正確，請重新整理網頁後再試一次。",
        detail,
    )


def _not_found() -> RequestRefused:
    return RequestRefused(HTTPStatus.NOT_FOUND, "not_found", "讀卡程式沒有這項功能。")
