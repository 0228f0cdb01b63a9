"""What every card backend offers, and the errors a clinic clerk can act on.

Each error carries a stable `code` (the page and tests rely on it), an HTTP status for the
helper's API, and a Traditional Chinese message written for a clerk, not for a developer.
No error ever carries the PIN.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReaderState:
    """One reader (PC/SC) or slot (PKCS#11) and whether a card is in it."""

    name: str
    card_present: bool


@dataclass(frozen=True)
class BackendStatus:
    """What `status()` reports: the backend's name and its readers."""

    backend: str
    readers: list[ReaderState] = field(default_factory=list)

    @property
    def card_present(self) -> bool:
        """Whether any reader holds a card."""
        return any(reader.card_present for reader in self.readers)


@dataclass(frozen=True)
class SignResult:
    """The card's certificate and its signature over the challenge."""

    certificate_der: bytes
    signature: bytes
    algorithm: str  # "rsa-pkcs1v15-sha256" or "ecdsa-sha256"
    reader: str


ALGORITHM_RSA = "rsa-pkcs1v15-sha256"
ALGORITHM_ECDSA = "ecdsa-sha256"

# PINs the helper passes on: printable ASCII of this length (HCA cards use 6 to 8 digits).
PIN_MIN_LENGTH = 4
PIN_MAX_LENGTH = 16


class CardError(Exception):
    """A card operation failed; `code` and `message` are shown to the page."""

    code = "card_error"
    http_status = 502
    message = "讀取機構卡時發生錯誤，請重新插入卡片後再試一次。"

    def __init__(self, detail: str = "") -> None:
        # `detail` is for the helper's own log (never the PIN); the page gets `message`.
        super().__init__(detail or self.code)
        self.detail = detail

    def to_json(self) -> dict[str, object]:
        """The error as the helper's API returns it."""
        return {"error": self.code, "message": self.message}


class NoReaderService(CardError):
    code = "no_reader_service"
    http_status = 503
    message = "讀卡機服務沒有啟動（Windows 的 Smart Card 服務或 pcscd），請啟動後再試一次。"


class NoReader(CardError):
    code = "no_reader"
    http_status = 409
    message = "找不到讀卡機，請確認讀卡機已接上電腦。"


class NoCard(CardError):
    code = "no_card"
    http_status = 409
    message = "讀卡機裡沒有醫事機構卡，請插入機構卡後再試一次。"


class WrongCard(NoCard):
    """A card is in the reader, but not one with the institution-card application."""

    code = "wrong_card"
    message = "讀卡機裡的卡片不是機構卡（可能是健保卡或醫事人員卡），請改插機構卡後再試一次。"


class WrongPin(CardError):
    code = "wrong_pin"
    http_status = 422

    def __init__(self, tries_left: int | None, detail: str = "") -> None:
        super().__init__(detail)
        self.tries_left = tries_left

    @property
    def message(self) -> str:  # type: ignore[override]
        """Tell the clerk how many tries remain when the card says so."""
        if self.tries_left is None:
            return "PIN 碼錯誤，請重新輸入。連續輸入錯誤多次會鎖住卡片。"
        return f"PIN 碼錯誤，還可以再試 {self.tries_left} 次；次數用完卡片會被鎖住。"

    def to_json(self) -> dict[str, object]:
        """Include `tries_left` when known."""
        body = super().to_json()
        if self.tries_left is not None:
            body["tries_left"] = self.tries_left
        return body


class PinBlocked(CardError):
    code = "pin_blocked"
    http_status = 423
    message = "PIN 碼已被鎖住，無法使用這張卡片驗證。請向醫事憑證管理中心申請解鎖，或改用紙本審核。"


class CardRemoved(CardError):
    code = "card_removed"
    http_status = 409
    message = "作業進行中卡片被拔出或讀卡機中斷，請重新插入機構卡後再試一次。"


class CardTimeout(CardError):
    code = "timeout"
    http_status = 504
    message = "讀卡機沒有在時間內回應，請確認卡片插好後再試一次。"


class CardBackend(ABC):
    """A way to reach the institution card: PC/SC (APDU profile) or PKCS#11."""

    name: str

    @abstractmethod
    def status(self) -> BackendStatus:
        """The readers and whether a card is in each; raises `NoReaderService`."""

    @abstractmethod
    def sign(self, challenge: bytes, pin: str) -> SignResult:
        """Verify the PIN, then sign `challenge` with the card's signing key."""
