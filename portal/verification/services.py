"""Verifying a manager application: with the institution card, or on stamped paper.

The card path: the portal issues a challenge bound to the application, the clinic's card
helper has the card sign it, and the portal checks certificate, policy, institution code,
signature, and that the challenge is fresh and answered once. The challenge is in the one
format the helper agrees to sign (challenges.py): a fixed prefix, the purpose, the portal's
origin as the browser reached it, and 32 random bytes, the nonce stored here.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import Row, bindparam, delete, select, update

from portal.accounts.models import Account, AccountState, Role
from portal.audit.services import Origin, record_event
from portal.changes.models import ManagerChange
from portal.db_types import utcnow
from portal.errors import DomainError
from portal.extensions import db
from portal.i18n import gettext
from portal.i18n import lazy_gettext as _l
from portal.institutions.models import Institution
from portal.registration.models import Application, ApplicationState
from portal.verification.certificates import (
    MESSAGES,
    CardVerificationError,
    VerifiedCard,
    verify_card_signature,
)
from portal.verification.challenges import challenge_bytes, encoded_challenge, new_nonce
from portal.verification.models import CardChallenge
from portal.verification.notifications import send_verified
from portal.verification.revocation import Revocation
from portal.verification.trust_store import revocation_lists, trust_anchors


class VerificationRefused(DomainError):
    """The card answer was not accepted; `code` is stable, `message` is for the clerk."""

    status = 422

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
    encoded: str  # the whole challenge, base64, for the page's data-challenge


def manager_application_awaiting(application: Application) -> bool:
    """Whether the application is a manager's that still needs verifying."""
    return _awaits_verification(application.account.role, application.state)


def _awaits_verification(role: Role | None, state: ApplicationState) -> bool:
    """A manager's application with no card or paper accepted yet (a refused one may retry)."""
    return role is Role.MANAGER and state in (
        ApplicationState.AWAITING_VERIFICATION,
        ApplicationState.REFUSED,
    )


# A challenge shown again must leave this long to type the PIN and let the card sign.
CHALLENGE_REUSE_MIN_SECONDS = 120


def issue_challenge(filing: Application | ManagerChange, portal_origin: str) -> IssuedChallenge:
    """A random challenge for this application or change, valid for CARD_CHALLENGE_SECONDS,
    naming the portal's origin as the page was reached at (scheme://host[:port]).

    An unused one with time left is handed out again: reloading the page, or opening it in
    a second tab, must not add a row each time. Each is still answered once only.
    """
    now = utcnow()
    is_change = isinstance(filing, ManagerChange)
    bound_to = CardChallenge.change_id if is_change else CardChallenge.application_id
    unused = db.session.scalar(
        select(CardChallenge)
        .where(
            bound_to == filing.id,
            CardChallenge.used_at.is_(None),
            CardChallenge.expires_at > now + timedelta(seconds=CHALLENGE_REUSE_MIN_SECONDS),
        )
        .order_by(CardChallenge.expires_at.desc())
        .limit(1)
    )
    if unused is not None:
        encoded = encoded_challenge(portal_origin, unused.nonce)
        return IssuedChallenge(unused.id, unused.nonce, unused.expires_at, encoded)
    nonce = new_nonce()
    seconds = current_app.config["CARD_CHALLENGE_SECONDS"]
    challenge = CardChallenge(
        application_id=None if is_change else filing.id,
        change_id=filing.id if is_change else None,
        nonce=nonce,
        expires_at=now + timedelta(seconds=seconds),
    )
    db.session.add(challenge)
    db.session.commit()
    encoded = encoded_challenge(portal_origin, nonce)
    return IssuedChallenge(challenge.id, nonce, challenge.expires_at, encoded)


def verify_with_card(
    application: Application,
    challenge_id: int,
    certificate_der: bytes,
    signature: bytes,
    origin: Origin,
    portal_origin: str,
) -> VerifiedCard:
    """Check the card's answer; on success the manager account opens at once, and the
    applicant's notice is queued with it.

    `portal_origin` is the portal's origin as the answer reached it: the challenge the card
    signed names it.

    One transaction: the application is locked first, so two answers for it (two tabs, a
    replay) are decided one after the other, and whatever happens the challenge is used up.
    It reads and writes the few columns it needs with Core statements on the tables. Loading
    the application, account and institution as ORM objects and flushing them, or even ORM
    statements on the mapped classes, took about a third of each check's time. The caller's
    objects are expired by the commit and read afresh when next used.
    """
    now = utcnow()
    locked = _lock_application(application.id)
    try:
        if not _awaits_verification(locked.role, locked.state):
            raise VerificationRefused("not_awaiting", str(CHALLENGE_MESSAGES["not_awaiting"]))
        nonce = _use_challenge(application.id, challenge_id, now)
        signed = challenge_bytes(portal_origin, nonce)
        verified = _check_card(locked.institution_code, signed, certificate_der, signature, now)
    except VerificationRefused as refusal:
        _audit("verification.card_failed", locked, origin, {"reason": refusal.code})
        db.session.commit()
        raise
    _approve(application.id, locked.account_id, now)
    _audit(
        "verification.card_succeeded",
        locked,
        origin,
        {
            "certificate_serial": verified.serial,
            "subject": verified.subject,
            "revocation": str(verified.revocation),
        },
    )
    # The statements above bypassed the ORM: the notice reads the application afresh.
    db.session.expire(application)
    send_verified(application)
    db.session.commit()
    return verified


# The card check's statements, on the tables rather than the mapped classes, and built once
# with bind parameters: building them on each call was a tenth of the check (see
# verify_with_card).
_applications, _accounts = Application.__table__, Account.__table__
_institutions, _challenges = Institution.__table__, CardChallenge.__table__
_LOCK_APPLICATION = (
    select(
        _applications.c.application_no,
        _applications.c.state,
        _applications.c.account_id,
        _applications.c.institution_id,
        _accounts.c.role,
        _institutions.c.code.label("institution_code"),
    )
    .join(_accounts, _accounts.c.id == _applications.c.account_id)
    .join(_institutions, _institutions.c.id == _applications.c.institution_id)
    .where(_applications.c.id == bindparam("application"))
    .with_for_update(of=_applications)
)
_CLAIM_CHALLENGE = (
    update(_challenges)
    .where(
        _challenges.c.id == bindparam("challenge"),
        _challenges.c.application_id == bindparam("application"),
        _challenges.c.used_at.is_(None),
        _challenges.c.expires_at > bindparam("now"),
    )
    .values(used_at=bindparam("now"))
    .returning(_challenges.c.nonce)
)
_APPROVE_APPLICATION = (
    update(_applications)
    .where(_applications.c.id == bindparam("application"))
    .values(state=ApplicationState.APPROVED, decided_at=bindparam("now"), verified_by="card")
)
_OPEN_ACCOUNT = (
    update(_accounts)
    .where(_accounts.c.id == bindparam("account"))
    .values(state=AccountState.ACTIVE, activated_at=bindparam("now"))
)


def _lock_application(application_id: int) -> Row:
    """What the checks, the approval and the audit event need of the application, locked."""
    return db.session.execute(_LOCK_APPLICATION, {"application": application_id}).one()


def _use_challenge(application_id: int, challenge_id: int, now: datetime) -> str:
    """Mark the challenge used and return its nonce; a replay or second answer finds it used.

    One UPDATE … RETURNING claims a good challenge; only a refused one is looked at again,
    to say why.
    """
    claimed = db.session.scalar(
        _CLAIM_CHALLENGE, {"challenge": challenge_id, "application": application_id, "now": now}
    )
    if claimed is not None:
        return claimed
    challenge = db.session.get(CardChallenge, challenge_id)
    if challenge is None or challenge.application_id != application_id:
        code = "challenge_unknown"
    elif challenge.used_at is not None:
        code = "challenge_used"
    else:
        code = "challenge_expired"
    raise VerificationRefused(code, str(CHALLENGE_MESSAGES[code]))


def check_change_card(
    change: ManagerChange,
    challenge_id: int,
    certificate_der: bytes,
    signature: bytes,
    now: datetime,
    portal_origin: str,
) -> VerifiedCard:
    """Use up the change's challenge and check the card's answer; VerificationRefused if not.

    Runs inside the transaction that applies the change, which holds the change's row lock.
    """
    claimed = db.session.scalar(
        update(CardChallenge)
        .where(
            CardChallenge.id == challenge_id,
            CardChallenge.change_id == change.id,
            CardChallenge.used_at.is_(None),
            CardChallenge.expires_at > now,
        )
        .values(used_at=now)
        .returning(CardChallenge.nonce)
    )
    if claimed is None:
        challenge = db.session.get(CardChallenge, challenge_id)
        if challenge is None or challenge.change_id != change.id:
            code = "challenge_unknown"
        elif challenge.used_at is not None:
            code = "challenge_used"
        else:
            code = "challenge_expired"
        raise VerificationRefused(code, str(CHALLENGE_MESSAGES[code]))
    signed = challenge_bytes(portal_origin, claimed)
    return _check_card(change.institution.code, signed, certificate_der, signature, now)


def purge_challenges(expired_before: datetime) -> int:
    """Delete the card challenges that expired before then; how many.

    A deleted challenge answered late is unknown, and refused like an expired one.
    """
    return db.session.execute(
        delete(CardChallenge)
        .where(CardChallenge.expires_at < expired_before)
        .execution_options(synchronize_session=False)
    ).rowcount


def use_up_challenge(challenge_id: int, now: datetime) -> None:
    """Mark a challenge used after a refused answer, so it is never tried again."""
    db.session.execute(
        update(CardChallenge)
        .where(CardChallenge.id == challenge_id, CardChallenge.used_at.is_(None))
        .values(used_at=now)
    )


def _check_card(
    institution_code: str, challenge: bytes, certificate_der: bytes, signature: bytes, now: datetime
) -> VerifiedCard:
    """The certificate checks and the signature over the challenge, as a refusal if not.

    Revocation is checked against the CRLs in CARD_CRL_DIR (kept fresh by
    `flask refresh-card-crls`); with CARD_CRL_REQUIRED a card no current CRL covers is
    refused, without it the card is accepted and the gap logged.
    """
    config = current_app.config
    try:
        verified = verify_card_signature(
            certificate_der,
            signature,
            challenge,
            trust_anchors=trust_anchors(Path(config["CARD_TRUST_ANCHORS_DIR"])),
            expected_institution_code=institution_code,
            now=now,
            crls=revocation_lists(Path(config["CARD_CRL_DIR"])),
            require_crl=config["CARD_CRL_REQUIRED"],
        )
    except CardVerificationError as error:
        if error.code == "revocation_unknown":
            current_app.logger.error(
                "card refused: no current CRL of its CA in %s (run flask refresh-card-crls)",
                config["CARD_CRL_DIR"],
            )
        message = gettext(MESSAGES[error.code]).format(**error.params)
        raise VerificationRefused(error.code, message) from None
    if verified.revocation is Revocation.UNKNOWN:
        current_app.logger.warning(
            "card %s accepted unchecked for revocation: no current CRL of its CA in %s",
            verified.serial,
            config["CARD_CRL_DIR"],
        )
    return verified


def _approve(application_id: int, account_id: int, now: datetime) -> None:
    """Open the locked application's manager account."""
    db.session.execute(_APPROVE_APPLICATION, {"application": application_id, "now": now})
    db.session.execute(_OPEN_ACCOUNT, {"account": account_id, "now": now})


def _audit(action: str, locked: Row, origin: Origin, detail: dict) -> None:
    record_event(
        action,
        subject_type="application",
        subject_id=locked.application_no,
        origin=origin,
        actor_account_id=locked.account_id,
        institution_id=locked.institution_id,
        detail=detail,
    )
