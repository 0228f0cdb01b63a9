"""The helper's APDU profile (see PROFILE.md): commands, status words, one card session.

`CardSession` runs the profile over any `transmit` function, so the PC/SC backend only
supplies the transport, and the virtual card in the tests implements the other side.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from card_helper.backends.base import CardError, PinBlocked, WrongCard, WrongPin

# Proprietary AID: category F (ISO 7816-5 "not registered") + "CARDHLP" + version 1.
AID = bytes.fromhex("F0") + b"CARDHLP" + bytes([0x01])
CERTIFICATE_FILE_ID = bytes.fromhex("C001")
PIN_REFERENCE = 0x81  # ISO 7816-4: a specific (application) PIN, number 1
READ_CHUNK = 0xF0  # short APDUs only: every reader and driver handles them
MAX_CERTIFICATE_LENGTH = 8192

INS_SELECT = 0xA4
INS_VERIFY = 0x20
INS_READ_BINARY = 0xB0
INS_PSO = 0x2A

SW_OK = 0x9000
SW_WRONG_LENGTH = 0x6700
SW_SECURITY_NOT_SATISFIED = 0x6982
SW_PIN_BLOCKED = 0x6983
SW_WRONG_DATA = 0x6A80
SW_FILE_NOT_FOUND = 0x6A82
SW_WRONG_P1P2 = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW_TRIES_LEFT_MASK = 0x63C0  # 63Cx: verification failed, x tries left

# DER of DigestInfo{ AlgorithmIdentifier{ sha256, NULL }, OCTET STRING (32 bytes) } up to
# the hash: the card pads this with PKCS#1 v1.5 type 1 and applies its private key.
SHA256_DIGEST_INFO_PREFIX = bytes.fromhex("3031300d060960864801650304020105000420")

Transmit = Callable[[bytes], tuple[bytes, int]]


@dataclass(frozen=True)
class Command:
    """One short command APDU."""

    ins: int
    p1: int
    p2: int
    data: bytes = b""
    le: int | None = None

    def encode(self) -> bytes:
        """The APDU bytes (CLA 00, short Lc/Le)."""
        header = bytes([0x00, self.ins, self.p1, self.p2])
        body = bytes([len(self.data)]) + self.data if self.data else b""
        trailer = b"" if self.le is None else bytes([self.le & 0xFF])  # 256 is sent as 00
        return header + body + trailer


def select_application() -> Command:
    """SELECT the helper's application by AID."""
    return Command(INS_SELECT, 0x04, 0x0C, AID)


def select_certificate_file() -> Command:
    """SELECT the certificate EF by its file identifier."""
    return Command(INS_SELECT, 0x02, 0x0C, CERTIFICATE_FILE_ID)


def verify_pin(pin: bytes) -> Command:
    """VERIFY the PIN (ASCII digits, no padding)."""
    return Command(INS_VERIFY, 0x00, PIN_REFERENCE, pin)


def read_binary(offset: int, length: int) -> Command:
    """READ BINARY `length` bytes of the selected EF from `offset` (15-bit offset)."""
    return Command(INS_READ_BINARY, (offset >> 8) & 0x7F, offset & 0xFF, le=length)


def compute_signature(digest_info: bytes) -> Command:
    """PSO: COMPUTE DIGITAL SIGNATURE over a SHA-256 DigestInfo."""
    return Command(INS_PSO, 0x9E, 0x9A, digest_info, le=256)


def sha256_digest_info(message: bytes) -> bytes:
    """The DigestInfo the card signs for `message`."""
    return SHA256_DIGEST_INFO_PREFIX + hashlib.sha256(message).digest()


def tries_left(status_word: int) -> int | None:
    """x from 63Cx, or None for any other status word."""
    if status_word & 0xFFF0 == SW_TRIES_LEFT_MASK:
        return status_word & 0x0F
    return None


def der_length(header: bytes) -> int:
    """The total length of a DER SEQUENCE from its first bytes (the certificate's size)."""
    if len(header) < 2 or header[0] != 0x30:
        raise CardError("certificate file does not start with a DER SEQUENCE")
    first = header[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if count == 0 or count > 3 or len(header) < 2 + count:
        raise CardError("unsupported DER length in the certificate file")
    return 2 + count + int.from_bytes(header[2 : 2 + count], "big")


class CardSession:
    """The profile's steps over one connected card: select, verify, read, sign."""

    def __init__(self, transmit: Transmit) -> None:
        self._transmit = transmit

    def _send(self, command: Command) -> tuple[bytes, int]:
        return self._transmit(command.encode())

    def select(self) -> None:
        """Select the application; a card without it is not an institution card for us."""
        _, status = self._send(select_application())
        if status != SW_OK:
            raise WrongCard(f"SELECT AID answered {status:04X}")

    def verify(self, pin: str) -> None:
        """Present the PIN; raise `WrongPin` (with tries left) or `PinBlocked`."""
        try:
            encoded = pin.encode("ascii")
        except UnicodeEncodeError:
            raise WrongPin(None, "PIN is not ASCII; not sent to the card") from None
        _, status = self._send(verify_pin(encoded))
        if status == SW_OK:
            return
        if status == SW_PIN_BLOCKED:
            raise PinBlocked()
        left = tries_left(status)
        if left is not None:
            raise PinBlocked() if left == 0 else WrongPin(left)
        raise CardError(f"VERIFY answered {status:04X}")

    def read_certificate(self) -> bytes:
        """Read the certificate EF in chunks; its DER header gives the total size."""
        _, status = self._send(select_certificate_file())
        if status != SW_OK:
            raise CardError(f"SELECT certificate answered {status:04X}")
        content = self._read_chunk(0, READ_CHUNK)
        total = der_length(content[:5])
        if total > MAX_CERTIFICATE_LENGTH:
            raise CardError(f"certificate of {total} bytes is implausibly large")
        while len(content) < total:
            chunk = self._read_chunk(len(content), min(READ_CHUNK, total - len(content)))
            if not chunk:
                raise CardError("certificate file ended early")
            content += chunk
        return content[:total]

    def _read_chunk(self, offset: int, length: int) -> bytes:
        data, status = self._send(read_binary(offset, length))
        if status != SW_OK:
            raise CardError(f"READ BINARY at {offset} answered {status:04X}")
        return data

    def sign(self, challenge: bytes) -> bytes:
        """Have the card sign SHA-256(challenge) with PKCS#1 v1.5."""
        signature, status = self._send(compute_signature(sha256_digest_info(challenge)))
        if status == SW_SECURITY_NOT_SATISFIED:
            raise CardError("the card refused to sign: PIN not verified")
        if status != SW_OK:
            raise CardError(f"PSO: COMPUTE DIGITAL SIGNATURE answered {status:04X}")
        return signature
