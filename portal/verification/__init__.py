"""Manager verification (機構卡驗證): checking what the clinic's card helper returns."""

from portal.verification.card_kinds import GPKI_CLASS3_POLICY, INSTITUTION_CARD_POLICY
from portal.verification.certificates import (
    CardVerificationError,
    VerifiedCard,
    load_trust_anchors,
    verify_card_signature,
)

__all__ = [
    "GPKI_CLASS3_POLICY",
    "INSTITUTION_CARD_POLICY",
    "CardVerificationError",
    "VerifiedCard",
    "load_trust_anchors",
    "verify_card_signature",
]
