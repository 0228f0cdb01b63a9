"""PKCS#11 backend: real HCA institution cards, through the card vendor's module.

The only module that imports PyKCS11. The module path is configured (the HCA middleware
installs it; SoftHSM2 stands in for it in the tests). Certificates are public objects on
the token, so the signing certificate is found before the PIN is presented: a PIN is never
tried on a token that has nothing to sign with.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import PyKCS11
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from card_helper.apdu import sha256_digest_info
from card_helper.backends.base import (
    ALGORITHM_ECDSA,
    ALGORITHM_RSA,
    BackendStatus,
    CardBackend,
    CardError,
    CardRemoved,
    NoCard,
    NoReader,
    NoReaderService,
    PinBlocked,
    ReaderState,
    SignResult,
    WrongPin,
)

CARD_GONE = frozenset(
    {
        PyKCS11.CKR_TOKEN_NOT_PRESENT,
        PyKCS11.CKR_DEVICE_REMOVED,
        PyKCS11.CKR_DEVICE_ERROR,
        PyKCS11.CKR_SESSION_HANDLE_INVALID,
        PyKCS11.CKR_SESSION_CLOSED,
    }
)


def _error_from(error: PyKCS11.PyKCS11Error, action: str) -> CardError:
    """The clerk-facing error for a PKCS#11 return value."""
    detail = f"{action}: {error}"
    if error.value == PyKCS11.CKR_PIN_LOCKED:
        return PinBlocked(detail)
    if error.value in CARD_GONE:
        return CardRemoved(detail)
    return CardError(detail)


@contextmanager
def _pkcs11(action: str) -> Iterator[None]:
    """Translate PyKCS11 errors raised inside the block."""
    try:
        yield
    except PyKCS11.PyKCS11Error as error:
        raise _error_from(error, action) from error


def _is_signing_certificate(certificate: x509.Certificate) -> bool:
    """HCA cards hold a signing and an encryption certificate; pick the signing one.

    digitalSignature, as the portal requires: a certificate allowed only non-repudiation
    (contentCommitment) would sign, and then be refused by the portal.
    """
    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return usage.digital_signature


# PyKCS11Lib's __del__ unloads under a class-wide lock that load() also holds. A library
# object freed by the garbage collector while some load() runs in the same thread (the
# collector runs whenever load() allocates) deadlocks the process: the test suite hung so.
# Hence one object per module path for the life of the process, and a failed one freed at
# once, by reference counting, not left to the collector inside an exception's traceback.
_modules: dict[str, PyKCS11.PyKCS11Lib] = {}
_modules_lock = threading.Lock()


def _loaded_module(path: str) -> PyKCS11.PyKCS11Lib:
    with _modules_lock:
        if path in _modules:
            return _modules[path]
        library = PyKCS11.PyKCS11Lib()
        try:
            library.load(path)
        except PyKCS11.PyKCS11Error as error:
            failure = f"cannot load {path}: {error}"
        else:
            _modules[path] = library
            return library
    # Out of the except block: the error and its traceback, which held the library, are gone.
    del library
    raise NoReaderService(failure)


class Pkcs11Backend(CardBackend):
    """Institution cards behind a PKCS#11 module (one slot per reader)."""

    name = "pkcs11"

    def __init__(self, module_path: str | None) -> None:
        self.module_path = module_path
        self._library: PyKCS11.PyKCS11Lib | None = None

    def _lib(self) -> PyKCS11.PyKCS11Lib:
        """The module, loaded on first use so that a missing one is reported per request."""
        if self._library is None:
            if not self.module_path:
                raise NoReaderService("no PKCS#11 module configured (--pkcs11-module)")
            self._library = _loaded_module(self.module_path)
        return self._library

    def _slots(self, *, token_present: bool) -> list[int]:
        try:
            return list(self._lib().getSlotList(tokenPresent=token_present))
        except PyKCS11.PyKCS11Error as error:
            # The vendor modules fail here when the PC/SC service they sit on is down.
            raise NoReaderService(f"C_GetSlotList: {error}") from error

    def status(self) -> BackendStatus:
        """Every slot and whether a token (card) is in it."""
        readers = []
        for slot in self._slots(token_present=False):
            with _pkcs11("C_GetSlotInfo"):
                info = self._lib().getSlotInfo(slot)
            present = bool(info.flags & PyKCS11.CKF_TOKEN_PRESENT)
            readers.append(ReaderState(info.slotDescription.strip(), present))
        return BackendStatus(self.name, readers)

    def sign(self, challenge: bytes, pin: str) -> SignResult:
        """Log in to the first token with a signing certificate and sign the challenge."""
        if not self._slots(token_present=False):
            raise NoReader("the PKCS#11 module lists no slot")
        for slot in self._slots(token_present=True):
            with _pkcs11("C_OpenSession"):
                session = self._lib().openSession(slot, PyKCS11.CKF_SERIAL_SESSION)
            try:
                found = self._signing_certificate(session)
                if found is not None:
                    return self._sign_with(slot, session, found, challenge, pin)
            finally:
                with suppress(PyKCS11.PyKCS11Error):  # the card may be gone already
                    session.closeSession()
        raise NoCard("no token with a signing certificate")

    def _signing_certificate(self, session: PyKCS11.Session) -> tuple[bytes, bytes] | None:
        """(DER, CKA_ID) of the token's signing certificate, if it has one."""
        template = [
            (PyKCS11.CKA_CLASS, PyKCS11.CKO_CERTIFICATE),
            (PyKCS11.CKA_CERTIFICATE_TYPE, PyKCS11.CKC_X_509),
        ]
        with _pkcs11("C_FindObjects (certificates)"):
            for handle in session.findObjects(template):
                value, key_id = session.getAttributeValue(
                    handle, [PyKCS11.CKA_VALUE, PyKCS11.CKA_ID]
                )
                der = bytes(value)
                if _is_signing_certificate(x509.load_der_x509_certificate(der)):
                    return der, bytes(key_id or b"")
        return None

    def _sign_with(
        self,
        slot: int,
        session: PyKCS11.Session,
        found: tuple[bytes, bytes],
        challenge: bytes,
        pin: str,
    ) -> SignResult:
        certificate_der, key_id = found
        self._login(slot, session, pin)
        try:
            with _pkcs11("C_FindObjects (private key)"):
                keys = session.findObjects(
                    [(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY), (PyKCS11.CKA_ID, key_id)]
                )
            if not keys:
                raise CardError("no private key matches the signing certificate")
            public_key = x509.load_der_x509_certificate(certificate_der).public_key()
            signature, algorithm = _sign(session, keys[0], public_key, challenge)
        finally:
            with suppress(PyKCS11.PyKCS11Error):
                session.logout()
        with _pkcs11("C_GetSlotInfo"):
            reader = self._lib().getSlotInfo(slot).slotDescription.strip()
        return SignResult(certificate_der, signature, algorithm, reader)

    def _login(self, slot: int, session: PyKCS11.Session, pin: str) -> None:
        """C_Login; on a wrong PIN, read the token's flags for what is left."""
        try:
            session.login(pin)
        except PyKCS11.PyKCS11Error as error:
            if error.value not in (PyKCS11.CKR_PIN_INCORRECT, PyKCS11.CKR_PIN_LEN_RANGE):
                raise _error_from(error, "C_Login") from error
            flags = self._lib().getTokenInfo(slot).flags
            if flags & PyKCS11.CKF_USER_PIN_LOCKED:
                raise PinBlocked("C_Login: the PIN is now locked") from error
            # PKCS#11 only says "final try", not a count; the APDU profile gives the count.
            left = 1 if flags & PyKCS11.CKF_USER_PIN_FINAL_TRY else None
            raise WrongPin(left, "C_Login: incorrect PIN") from error


def _sign(
    session: PyKCS11.Session, key: object, public_key: object, challenge: bytes
) -> tuple[bytes, str]:
    """Sign with the mechanism the key's type calls for."""
    if isinstance(public_key, rsa.RSAPublicKey):
        return _sign_rsa(session, key, challenge), ALGORITHM_RSA
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        with _pkcs11("C_Sign (ECDSA)"):
            mechanism = PyKCS11.Mechanism(PyKCS11.CKM_ECDSA, None)
            raw = bytes(session.sign(key, hashlib.sha256(challenge).digest(), mechanism))
        half = len(raw) // 2  # PKCS#11 gives r || s; the portal expects DER
        r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
        return encode_dss_signature(r, s), ALGORITHM_ECDSA
    raise CardError(f"unsupported key type {type(public_key).__name__}")


def _sign_rsa(session: PyKCS11.Session, key: object, challenge: bytes) -> bytes:
    """PKCS#1 v1.5 with SHA-256, by the module's hashing mechanism or by a raw one."""
    try:
        mechanism = PyKCS11.Mechanism(PyKCS11.CKM_SHA256_RSA_PKCS, None)
        return bytes(session.sign(key, challenge, mechanism))
    except PyKCS11.PyKCS11Error as error:
        if error.value != PyKCS11.CKR_MECHANISM_INVALID:
            raise _error_from(error, "C_Sign (SHA256-RSA-PKCS)") from error
    # Some card modules only do raw CKM_RSA_PKCS: hand them the DigestInfo ourselves.
    with _pkcs11("C_Sign (RSA-PKCS)"):
        mechanism = PyKCS11.Mechanism(PyKCS11.CKM_RSA_PKCS, None)
        return bytes(session.sign(key, sha256_digest_info(challenge), mechanism))
