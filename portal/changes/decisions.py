"""The help desk's decision on a change verified on paper, and the card's, as decision kinds."""

from datetime import datetime

from sqlalchemy import select

from portal.audit.services import Origin, record_event
from portal.changes import notifications
from portal.changes.models import ChangeState, ManagerChange
from portal.changes.services import apply_change
from portal.db_types import utcnow
from portal.decisions import Decision, DecisionKind, decide
from portal.extensions import db
from portal.locking import for_update
from portal.verification.certificates import VerifiedCard
from portal.verification.services import (
    VerificationRefused,
    check_change_card,
    use_up_challenge,
)


class PaperReviewedChange(DecisionKind[ManagerChange]):
    """A change whose stamped scan the help desk approves (applied at once) or refuses."""

    subject_type = "manager_change"
    approved_action = "manager_change.approved"
    refused_action = "manager_change.refused"

    def lock(self, subject_id: int) -> ManagerChange | None:
        """The change, locked."""
        return db.session.scalar(
            for_update(select(ManagerChange).where(ManagerChange.id == subject_id))
        )

    def is_open(self, subject: ManagerChange) -> bool:
        """Only a scan under review is decided on paper."""
        return subject.state is ChangeState.AWAITING_PAPER_REVIEW

    def approve(self, subject: ManagerChange, decision: Decision, now: datetime) -> None:
        """Apply the change to its accounts."""
        apply_change(subject, now)
        subject.decided_by_id, subject.verified_by = decision.actor_id, "paper"

    def refuse(self, subject: ManagerChange, decision: Decision, now: datetime) -> None:
        """Refused with a reason; the filer may send a better scan."""
        subject.state, subject.refusal_reason = ChangeState.REFUSED, decision.reason
        subject.decided_at, subject.decided_by_id = now, decision.actor_id

    def audit_key(self, subject: ManagerChange) -> tuple[str, int | None]:
        """The change number and its institution."""
        return subject.change_no, subject.institution_id

    def notify(self, subject: ManagerChange, decision: Decision) -> None:
        """The people named, the filer and the institution's other managers."""
        notifications.send_decided(subject)


class CardVerifiedChange(PaperReviewedChange):
    """A change the filer verifies with the institution card: applied at once if it checks."""

    approved_action = "manager_change.card_verified"

    def __init__(
        self, challenge_id: int, certificate_der: bytes, signature: bytes, portal_origin: str
    ) -> None:
        self.challenge_id = challenge_id
        self.certificate_der = certificate_der
        self.signature = signature
        self.portal_origin = portal_origin  # what the signed challenge names
        self.verified: VerifiedCard | None = None

    def is_open(self, subject: ManagerChange) -> bool:
        """Not yet verified (a refused scan may still be replaced by the card)."""
        return subject.state in (ChangeState.AWAITING_VERIFICATION, ChangeState.REFUSED)

    def approve(self, subject: ManagerChange, decision: Decision, now: datetime) -> None:
        """Check the card's answer first; then apply the change."""
        self.verified = check_change_card(
            subject,
            self.challenge_id,
            self.certificate_der,
            self.signature,
            now,
            self.portal_origin,
        )
        apply_change(subject, now)
        subject.decided_by_id, subject.verified_by = decision.actor_id, "card"

    def audit_detail(self, subject: ManagerChange, decision: Decision) -> dict:
        """Which certificate signed."""
        return {
            "certificate_serial": self.verified.serial,
            "subject": self.verified.subject,
            "revocation": str(self.verified.revocation),
        }


def verify_with_card(
    filer_id: int,
    change_id: int,
    challenge_id: int,
    certificate_der: bytes,
    signature: bytes,
    origin: Origin,
    portal_origin: str,
) -> ManagerChange:
    """Apply the change if the card's answer checks; a refusal is audited and uses the
    challenge up. `portal_origin`: the portal's origin as the answer reached it."""
    kind = CardVerifiedChange(challenge_id, certificate_der, signature, portal_origin)
    try:
        return decide(kind, change_id, Decision(filer_id, True, origin=origin))
    except VerificationRefused as refusal:
        change = db.session.get(ManagerChange, change_id)
        use_up_challenge(challenge_id, utcnow())
        record_event(
            "verification.card_failed",
            subject_type="manager_change",
            subject_id=change.change_no,
            origin=origin,
            actor_account_id=filer_id,
            institution_id=change.institution_id,
            detail={"reason": refusal.code},
        )
        db.session.commit()
        raise


def decide_on_paper(reviewer_id: int, change_id: int, approve: bool, reason: str, origin: Origin):
    """The help desk's decision on a change's stamped scan."""
    return decide(PaperReviewedChange(), change_id, Decision(reviewer_id, approve, reason, origin))
