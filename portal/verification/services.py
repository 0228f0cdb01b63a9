"""Verifying a manager application: with the institution card, or on stamped paper.

The card path: the portal issues a challenge bound to the application, the clinic's card
helper has the card sign it, and the portal checks certificate, policy, institution code,
signature, and that the challenge is fresh and answered once.
"""

import base64
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from portal.accounts.models import AccountState
from portal.audit.services import Origin, record_event
from portal.db_types import utcnow
from portal.extensions import db
from portal.locking import for_update
from portal.registration.models import Application, ApplicationState
from portal.verification.certificates import (
    CardVerificationError,
    VerifiedCard,
    load_trust_anchors,
    verify_card_signature,
)
from portal.verification.models import CardChallenge

CHALLENGE_BYTES = 32


class VerificationRefused(Exception):
    """The card answer was not accepted; `code` is stable, `message` is for the clerk."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


CHALLENGE_MESSAGES = {
    "challenge_unknown": _l("驗證碼不存在，請重新整理網頁後再驗證一次。"),
    "challenge_expired": _l("驗證已超過 5 分鐘，請重新整理網頁後再驗證一次。"),
    "challenge_used": _l("這次驗證已經使用過，請重新整理網頁後再驗證一次。"),
    "not_awaiting": _l("這件申請目前不需要機構卡驗證。"),
}


@dataclass(frozen=True)
class IssuedChallenge:
    """A challenge for the page to hand to the card helper."""

    id: int
    nonce: str
    expires_at: datetime


def manager_application_awaiting(application: Application) -> bool:
    """Whether the application is a manager's that still needs verifying."""
    return application.is_manager_application and application.state in (
        ApplicationState.AWAITING_VERIFICATION,
        ApplicationState.REFUSED,
    )


# A challenge shown again must leave this long to type the PIN and let the card sign.
CHALLENGE_REUSE_MIN_SECONDS = 120


def issue_challenge(application: Application) -> IssuedChallenge:
    """A random challenge for this application, valid for CARD_CHALLENGE_SECONDS.

    An unused one with time left is handed out again: reloading the page, or opening it in
    a second tab, must not add a row each time. Each is still answered once only.
    """
    now = utcnow()
    unused = db.session.scalar(
        select(CardChallenge)
        .where(
            CardChallenge.application_id == application.id,
            CardChallenge.used_at.is_(None),
            CardChallenge.expires_at > now + timedelta(seconds=CHALLENGE_REUSE_MIN_SECONDS),
        )
        .order_by(CardChallenge.expires_at.desc())
        .limit(1)
    )
    if unused is not None:
        return IssuedChallenge(unused.id, unused.nonce, unused.expires_at)
    nonce = base64.b64encode(secrets.token_bytes(CHALLENGE_BYTES)).decode("ascii")
    seconds = current_app.config["CARD_CHALLENGE_SECONDS"]
    challenge = CardChallenge(
        application_id=application.id,
        nonce=nonce,
        expires_at=now + timedelta(seconds=seconds),
    )
    db.session.add(challenge)
    db.session.commit()
    return IssuedChallenge(challenge.id, nonce, challenge.expires_at)


def verify_with_card(
    application: Application,
    challenge_id: int,
    certificate_der: bytes,
    signature: bytes,
    origin: Origin,
) -> VerifiedCard:
    """Check the card's answer; on success the manager account opens at once.

    One transaction: the application is locked first, so two answers for it (two tabs, a
    replay) are decided one after the other, and whatever happens the challenge is used up.
    """
    locked = _lock_application(application.id)
    try:
        if not manager_application_awaiting(locked):
            raise VerificationRefused("not_awaiting", str(CHALLENGE_MESSAGES["not_awaiting"]))
        nonce = _use_challenge(locked, challenge_id)
        verified = _check_card(locked, nonce, certificate_der, signature)
    except VerificationRefused as refusal:
        _audit("verification.card_failed", locked, origin, {"reason": refusal.code})
        db.session.commit()
        raise
    _approve(locked, "card")
    _audit(
        "verification.card_succeeded",
        locked,
        origin,
        {"certificate_serial": verified.serial, "subject": verified.subject},
    )
    db.session.commit()
    return verified


def _lock_application(application_id: int) -> Application:
    """The application, locked and read afresh, with what the checks and approval read."""
    return db.session.scalar(
        for_update(
            select(Application)
            .where(Application.id == application_id)
            .options(joinedload(Application.institution), joinedload(Application.account)),
            of=Application,
        )
    )


def _use_challenge(application: Application, challenge_id: int) -> str:
    """Mark the challenge used and return its nonce; a replay or second answer finds it used.

    One UPDATE … RETURNING claims a good challenge; only a refused one is looked at again,
    to say why.
    """
    now = utcnow()
    claimed = db.session.scalar(
        update(CardChallenge)
        .where(
            CardChallenge.id == challenge_id,
            CardChallenge.application_id == application.id,
            CardChallenge.used_at.is_(None),
            CardChallenge.expires_at > now,
        )
        .values(used_at=now)
        .returning(CardChallenge.nonce)
        # No challenge object is loaded in this request: nothing in the session to update.
        .execution_options(synchronize_session=False)
    )
    if claimed is not None:
        return claimed
    challenge = db.session.get(CardChallenge, challenge_id)
    if challenge is None or challenge.application_id != application.id:
        code = "challenge_unknown"
    elif challenge.used_at is not None:
        code = "challenge_used"
    else:
        code = "challenge_expired"
    raise VerificationRefused(code, str(CHALLENGE_MESSAGES[code]))


def _check_card(
    application: Application, nonce: str, certificate_der: bytes, signature: bytes
) -> VerifiedCard:
    """The certificate checks and the signature over the challenge, as a refusal if not."""
    try:
        return verify_card_signature(
            certificate_der,
            signature,
            base64.b64decode(nonce),
            trust_anchors=_trust_anchors(Path(current_app.config["CARD_TRUST_ANCHORS_DIR"])),
            expected_institution_code=application.institution.code,
            now=utcnow(),
        )
    except CardVerificationError as error:
        raise VerificationRefused(error.code, error.message) from None


# The anchors as last read, by directory, with the listing they were read from.
_anchors_read: dict[Path, tuple[tuple, list[x509.Certificate]]] = {}


def _trust_anchors(directory: Path) -> list[x509.Certificate]:
    """The directory's trust anchors, read again only when a file in it was changed.

    Reading and parsing them took about a tenth of each verification; a listing with each
    file's size and modification time is a few system calls.
    """
    listing = tuple(
        sorted(
            (entry.name, entry.stat().st_mtime_ns, entry.stat().st_size)
            for entry in os.scandir(directory)
        )
    )
    known = _anchors_read.get(directory)
    if known is None or known[0] != listing:
        known = _anchors_read[directory] = (listing, load_trust_anchors(directory))
    return known[1]


def _approve(application: Application, method: str) -> None:
    """Open the locked application's manager account."""
    now = utcnow()
    application.state, application.decided_at = ApplicationState.APPROVED, now
    application.verified_by = method
    account = application.account
    account.state, account.activated_at = AccountState.ACTIVE, now


def _audit(action: str, application: Application, origin: Origin, detail: dict) -> None:
    record_event(
        action,
        subject_type="application",
        subject_id=application.application_no,
        origin=origin,
        actor_account_id=application.account_id,
        institution_id=application.institution_id,
        detail=detail,
    )
