"""PC/SC backend: cards that speak the helper's APDU profile, reached with pyscard.

The only module that imports `smartcard`. It uses pyscard's thin `scard` layer rather than
its object API because the raw PC/SC result codes are what tell "no service", "no reader",
"no card" and "card pulled out" apart.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from smartcard import scard

from card_helper.apdu import CardSession, Transmit
from card_helper.backends.base import (
    ALGORITHM_RSA,
    BackendStatus,
    CardBackend,
    CardError,
    CardRemoved,
    CardTimeout,
    NoCard,
    NoReader,
    NoReaderService,
    ReaderState,
    SignResult,
    WrongCard,
)


def _code(name: str) -> int | None:
    value = getattr(scard, name, None)
    return None if value is None else value & 0xFFFFFFFF


def _codes(*names: str) -> frozenset[int]:
    return frozenset(code for code in map(_code, names) if code is not None)


NO_SERVICE = _codes("SCARD_E_NO_SERVICE", "SCARD_E_SERVICE_STOPPED")
NO_READERS = _codes("SCARD_E_NO_READERS_AVAILABLE")
# Results meaning the card (or its reader) went away; while connecting they mean "no card".
CARD_GONE = _codes(
    "SCARD_E_NO_SMARTCARD",
    "SCARD_W_REMOVED_CARD",
    "SCARD_W_RESET_CARD",
    "SCARD_W_UNPOWERED_CARD",
    "SCARD_W_UNRESPONSIVE_CARD",
    "SCARD_E_NOT_TRANSACTED",
    "SCARD_E_READER_UNAVAILABLE",
    "SCARD_E_UNKNOWN_READER",
    "SCARD_E_COMM_DATA_LOST",
    "SCARD_F_COMM_ERROR",
)
TIMED_OUT = _codes("SCARD_E_TIMEOUT")


def _check(result: int, action: str, *, connected: bool = False) -> None:
    """Turn a PC/SC result code into the error a clerk can act on."""
    result &= 0xFFFFFFFF
    if result == 0:
        return
    detail = f"{action}: {scard.SCardGetErrorMessage(result)} ({result:08X})"
    if result in NO_SERVICE:
        raise NoReaderService(detail)
    if result in NO_READERS:
        raise NoReader(detail)
    if result in TIMED_OUT:
        raise CardTimeout(detail)
    if result in CARD_GONE:
        raise CardRemoved(detail) if connected else NoCard(detail)
    raise CardError(detail)


@contextmanager
def _context() -> Iterator[int]:
    """A PC/SC context, released afterwards; no service raises `NoReaderService`."""
    result, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    _check(result, "SCardEstablishContext")
    try:
        yield context
    finally:
        scard.SCardReleaseContext(context)


def _reader_states(context: int) -> list[ReaderState]:
    """Every reader and whether a card is in it."""
    result, names = scard.SCardListReaders(context, [])
    if result & 0xFFFFFFFF in NO_READERS:
        return []
    _check(result, "SCardListReaders")
    if not names:
        return []
    query = [(name, scard.SCARD_STATE_UNAWARE) for name in names]
    result, states = scard.SCardGetStatusChange(context, 0, query)
    _check(result, "SCardGetStatusChange")
    return [
        ReaderState(
            name, bool(event & scard.SCARD_STATE_PRESENT) and not event & scard.SCARD_STATE_MUTE
        )
        for name, event, _atr in states
    ]


@contextmanager
def _connected(context: int, reader: str) -> Iterator[Transmit]:
    """A card connection inside a transaction; the card is reset when done.

    The reset on disconnect drops the card's "PIN verified" state, so no other program on
    the PC can use the card's key after the helper is finished with it.
    """
    result, card, protocol = scard.SCardConnect(
        context, reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
    )
    _check(result, f"SCardConnect({reader})")
    try:
        _check(scard.SCardBeginTransaction(card), "SCardBeginTransaction", connected=True)
        yield _transmitter(card, protocol)
        scard.SCardEndTransaction(card, scard.SCARD_LEAVE_CARD)
    finally:
        scard.SCardDisconnect(card, scard.SCARD_RESET_CARD)


def _transmitter(card: int, protocol: int) -> Transmit:
    """A `transmit` for `CardSession`, handling T=0's 61xx/6Cxx the usual way."""

    def send(apdu: bytes) -> tuple[bytes, int]:
        result, response = scard.SCardTransmit(card, protocol, list(apdu))
        _check(result, "SCardTransmit", connected=True)
        if len(response) < 2:
            raise CardRemoved("response without a status word")
        data, sw1, sw2 = bytes(response[:-2]), response[-2], response[-1]
        if sw1 == 0x6C:  # wrong Le: the card says how many bytes it has
            return send(apdu[:-1] + bytes([sw2]))
        while sw1 == 0x61:  # more data waiting: GET RESPONSE
            result, response = scard.SCardTransmit(card, protocol, [0x00, 0xC0, 0x00, 0x00, sw2])
            _check(result, "SCardTransmit", connected=True)
            data, sw1, sw2 = data + bytes(response[:-2]), response[-2], response[-1]
        return data, (sw1 << 8) | sw2

    return send


class PcscBackend(CardBackend):
    """Institution cards with the helper's APDU profile, in any PC/SC reader."""

    name = "pcsc"

    def __init__(self, reader_filter: str | None = None) -> None:
        # Only readers whose name contains this text are used (None: every reader).
        self.reader_filter = reader_filter

    def _readers(self, context: int) -> list[ReaderState]:
        readers = _reader_states(context)
        if self.reader_filter:
            readers = [r for r in readers if self.reader_filter in r.name]
        return readers

    def status(self) -> BackendStatus:
        """The readers PC/SC knows and whether a card is in each."""
        with _context() as context:
            return BackendStatus(self.name, self._readers(context))

    def sign(self, challenge: bytes, pin: str) -> SignResult:
        """Sign with the first card that has the helper's application."""
        with _context() as context:
            readers = self._readers(context)
            if not readers:
                raise NoReader("no PC/SC reader")
            other_card = False
            for reader in (r.name for r in readers if r.card_present):
                try:
                    return self._sign_with(context, reader, challenge, pin)
                except WrongCard:
                    other_card = True  # a health-insurance or professional card, say
                except NoCard:
                    continue  # it left before we connected
        if other_card:
            raise WrongCard("no card with the helper's application")
        raise NoCard("no card in any reader")

    def _sign_with(self, context: int, reader: str, challenge: bytes, pin: str) -> SignResult:
        with _connected(context, reader) as transmit:
            session = CardSession(transmit)
            session.select()
            certificate = session.read_certificate()
            # Verify only now, right before signing, to keep the PIN-verified state short.
            session.verify(pin)
            signature = session.sign(challenge)
        return SignResult(certificate, signature, ALGORITHM_RSA, reader)
