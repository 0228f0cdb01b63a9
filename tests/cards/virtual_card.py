"""A virtual institution card for vsmartcard's vpcd reader driver.

It speaks the helper's APDU profile (card_helper/PROFILE.md) from the card's side: an RSA
key and its certificate, a PIN with a tries counter that blocks after three wrong tries.
It connects to vpcd as a TCP client; vpcd frames are a 2-byte big-endian length and a
payload, and a 1-byte payload is a control code (0 off, 1 on, 2 reset, 4 send the ATR).

The tests run it as its own process (`python -m tests.cards.virtual_card ...`), as a real
card is separate from the PC: a card thread inside the process that also calls PC/SC
proved racy with pcscd's power-up, and killing the process is a faithful "card pulled out".
It prints "ready" once pcscd has asked for its ATR, then serves until stdin closes.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
from cryptography.hazmat.primitives.hashes import SHA256

from card_helper import apdu

# T=1 only, no historical bytes; TCK = 0x80 ^ 0x80 ^ 0x01.
ATR = bytes.fromhex("3B80800101")
CONTROL_POWER_OFF, CONTROL_POWER_ON, CONTROL_RESET, CONTROL_ATR = 0, 1, 2, 4
MAX_TRIES = 3


@dataclass
class CardState:
    """What the card remembers: across resets (tries) and until one (selection, PIN)."""

    pin: str
    tries_left: int = MAX_TRIES
    application_selected: bool = False
    certificate_selected: bool = False
    pin_verified: bool = False

    def reset(self) -> None:
        """Power cycle or reset: only the persistent tries counter survives."""
        self.application_selected = self.certificate_selected = self.pin_verified = False


@dataclass
class VirtualCard:
    """The card; `start()` inserts it into vpcd's reader, `stop()` pulls it out."""

    private_key: rsa.RSAPrivateKey
    certificate_der: bytes
    pin: str = "123456"
    port: int = 35963
    host: str = "127.0.0.1"
    sign_delay: float = 0.0  # seconds the card "thinks" before answering PSO
    vanish_on_ins: int | None = None  # pulled out when this instruction arrives
    foreign: bool = False  # another kind of card (health insurance, say): no application
    state: CardState = field(init=False)
    powered_on: threading.Event = field(default_factory=threading.Event, init=False)
    _socket: socket.socket | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.state = CardState(self.pin)

    def start(self, timeout: float = 10.0) -> VirtualCard:
        """Connect to vpcd and wait until PC/SC has powered the card up."""
        self._socket = _connect(self.host, self.port, timeout)
        self._thread = threading.Thread(target=self._serve, name="virtual-card", daemon=True)
        self._thread.start()
        if not self.powered_on.wait(timeout):
            self.stop()
            raise TimeoutError("pcscd never asked the virtual card for its ATR")
        return self

    def stop(self) -> None:
        """Pull the card out: close the connection and wait for the thread."""
        if self._socket is not None:
            with contextlib.suppress(OSError):  # already shut down when it vanished
                self._socket.shutdown(socket.SHUT_RDWR)
            self._socket.close()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self._socket = self._thread = None

    def __enter__(self) -> VirtualCard:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self) -> None:
        sock = self._socket
        try:
            while sock is not None and (payload := _receive(sock)) is not None:
                if len(payload) == 1:
                    self._control(sock, payload[0])
                    continue
                if self.vanish_on_ins is not None and payload[1] == self.vanish_on_ins:
                    sock.shutdown(socket.SHUT_RDWR)
                    return
                _send(sock, self.respond(payload))
        except OSError:
            return  # stop() closed the socket under us

    def _control(self, sock: socket.socket, code: int) -> None:
        if code == CONTROL_ATR:
            _send(sock, ATR)
            self.powered_on.set()
        elif code in (CONTROL_POWER_OFF, CONTROL_POWER_ON, CONTROL_RESET):
            self.state.reset()

    def respond(self, command: bytes) -> bytes:
        """The response APDU (data + SW) to one command APDU."""
        if command[0] != 0x00:
            return _sw(apdu.SW_CLA_NOT_SUPPORTED)
        handler = {
            apdu.INS_SELECT: self._select,
            apdu.INS_VERIFY: self._verify,
            apdu.INS_READ_BINARY: self._read_binary,
            apdu.INS_PSO: self._sign,
        }.get(command[1])
        if handler is None:
            return _sw(apdu.SW_INS_NOT_SUPPORTED)
        return handler(command)

    def _select(self, command: bytes) -> bytes:
        p1, data = command[2], _data(command)
        if p1 == 0x04:
            self.state.reset()
            self.state.application_selected = data == apdu.AID and not self.foreign
            return _sw(apdu.SW_OK if self.state.application_selected else apdu.SW_FILE_NOT_FOUND)
        if p1 == 0x02 and self.state.application_selected and data == apdu.CERTIFICATE_FILE_ID:
            self.state.certificate_selected = True
            return _sw(apdu.SW_OK)
        return _sw(apdu.SW_FILE_NOT_FOUND)

    def _verify(self, command: bytes) -> bytes:
        if not self.state.application_selected or command[3] != apdu.PIN_REFERENCE:
            return _sw(apdu.SW_WRONG_P1P2)
        if self.state.tries_left == 0:
            return _sw(apdu.SW_PIN_BLOCKED)
        data = _data(command)
        if not data:  # VERIFY without data asks how many tries are left
            verified = self.state.pin_verified
            return _sw(apdu.SW_OK if verified else apdu.SW_TRIES_LEFT_MASK | self.state.tries_left)
        if data == self.state.pin.encode("ascii"):
            self.state.tries_left, self.state.pin_verified = MAX_TRIES, True
            return _sw(apdu.SW_OK)
        self.state.tries_left -= 1
        self.state.pin_verified = False
        return _sw(apdu.SW_TRIES_LEFT_MASK | self.state.tries_left)

    def _read_binary(self, command: bytes) -> bytes:
        if not self.state.certificate_selected:
            return _sw(apdu.SW_FILE_NOT_FOUND)
        offset = ((command[2] & 0x7F) << 8) | command[3]
        length = command[4] if len(command) == 5 else 0
        length = length or 256
        if offset > len(self.certificate_der):
            return _sw(apdu.SW_WRONG_P1P2)
        return self.certificate_der[offset : offset + length] + _sw(apdu.SW_OK)

    def _sign(self, command: bytes) -> bytes:
        if command[2:4] != b"\x9e\x9a":
            return _sw(apdu.SW_WRONG_P1P2)
        if not self.state.pin_verified:
            return _sw(apdu.SW_SECURITY_NOT_SATISFIED)
        data = _data(command)
        if not data.startswith(apdu.SHA256_DIGEST_INFO_PREFIX) or len(data) != 51:
            return _sw(apdu.SW_WRONG_DATA)
        time.sleep(self.sign_delay)
        digest = data[len(apdu.SHA256_DIGEST_INFO_PREFIX) :]
        signature = self.private_key.sign(digest, padding.PKCS1v15(), utils.Prehashed(SHA256()))
        return signature + _sw(apdu.SW_OK)


def _data(command: bytes) -> bytes:
    """The command data of a short APDU (empty for cases 1 and 2)."""
    if len(command) <= 5:
        return b""
    return command[5 : 5 + command[4]]


def _sw(status_word: int) -> bytes:
    return status_word.to_bytes(2, "big")


def _connect(host: str, port: int, timeout: float) -> socket.socket:
    """Connect to vpcd, retrying while pcscd is still starting."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
            sock.settimeout(None)  # a card waits for commands as long as it is inserted
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _receive(sock: socket.socket) -> bytes | None:
    """One vpcd frame's payload, or None when the connection closed."""
    header = _receive_exactly(sock, 2)
    if header is None:
        return None
    (length,) = struct.unpack(">H", header)
    return _receive_exactly(sock, length)


def _receive_exactly(sock: socket.socket, count: int) -> bytes | None:
    chunks = b""
    while len(chunks) < count:
        # vpcd writes a frame's length and payload separately; acknowledging at once keeps
        # Nagle's algorithm on its side from holding the payload for a delayed ACK (40 ms).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        chunk = sock.recv(count - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return chunks


def _send(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack(">H", len(payload)) + payload)


def main(argv: list[str] | None = None) -> None:
    """Insert a card with the given key and certificate; pull it out when stdin closes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=35963)
    parser.add_argument("--key", required=True, help="PEM private key (PKCS#8)")
    parser.add_argument("--certificate", required=True, help="DER certificate")
    parser.add_argument("--pin", default="123456")
    parser.add_argument("--sign-delay", type=float, default=0.0)
    parser.add_argument("--vanish-on-ins", type=lambda text: int(text, 0), default=None)
    parser.add_argument("--foreign", action="store_true", help="a card without the application")
    args = parser.parse_args(argv)
    with open(args.key, "rb") as key_file:
        key = serialization.load_pem_private_key(key_file.read(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    with open(args.certificate, "rb") as certificate_file:
        certificate = certificate_file.read()
    card = VirtualCard(
        key,
        certificate,
        pin=args.pin,
        port=args.port,
        sign_delay=args.sign_delay,
        vanish_on_ins=args.vanish_on_ins,
        foreign=args.foreign,
    )
    with card:
        print("ready", flush=True)
        sys.stdin.read()  # the test closes our stdin (or kills us) to pull the card out


if __name__ == "__main__":
    main()
