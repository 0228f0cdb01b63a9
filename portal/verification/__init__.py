"""Manager verification (機構卡驗證): checking what the clinic's card helper returns."""

from portal.verification.certificates import (
    INSTITUTION_CARD_POLICY,
    CardVerificationError,
    VerifiedCard,
    load_trust_anchors,
    verify_card_signature,
)

__all__ = [
    "INSTITUTION_CARD_POLICY",
    "CardVerificationError",
    "VerifiedCard",
    "load_trust_anchors",
    "verify_card_signature",
]
