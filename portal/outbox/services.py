"""Delivering the outbox (the worker's job), and what an administrator does with dead mail.

A message is a row that `portal.mail.send_mail` adds to the transaction of the decision it
reports: committed together or rolled back together, so nobody is told of a decision that
did not happen and no request waits on an SMTP server. The worker claims one due message
at a time in a short transaction of its own (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two
workers never take the same one; SQLite: its write lock serialises the claims), sends it
with no transaction open, then records the outcome: sent, due again after a backoff, or
dead after OUTBOX_MAX_ATTEMPTS tries, until a portal administrator sends it again.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, func, select, update

from portal.accounts.models import Account
from portal.audit.services import Origin, record_event
from portal.db_types import utcnow
from portal.extensions import db
from portal.locking import for_update
from portal.observability.request_ids import request_id_set
from portal.outbox.models import OutboxMessage, OutboxState
from portal.outbox.senders import MailSender, SendFailed, sender_from_config

# A claim lasts this many MAIL_TIMEOUT_SECONDS: an SMTP conversation is a handful of
# exchanges, each bounded by the timeout, so a claim older than that belongs to a worker
# that died mid-send, and its message comes due again.
CLAIM_LEASE_TIMEOUTS = 10

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaimedMessage:
    """A message one worker took; plain values, read before the claim was committed."""

    id: int
    recipient: str
    subject: str
    body: str
    created_at: datetime
    attempts: int
    request_id: str | None = None


@dataclass
class DeliveryReport:
    """What one pass over the due messages did."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0


def deliver_due(sender: MailSender | None = None) -> DeliveryReport:
    """Send the messages due when the pass starts, one claim at a time.

    The pass ends at the first failure: the server is probably down, and trying each
    remaining message would cost a timeout apiece; they wait for the next pass.
    """
    config = current_app.config
    sender = sender or sender_from_config(config)
    report = DeliveryReport()
    started = utcnow()
    while (claimed := claim_next(started)) is not None:
        # Its log lines carry the id of the request that queued it.
        with request_id_set(claimed.request_id):
            delivered = _deliver(sender, claimed, report)
        if not delivered:
            break
    return report


def _deliver(sender: MailSender, claimed: ClaimedMessage, report: DeliveryReport) -> bool:
    """One try at one claimed message, recorded and logged; whether it went out."""
    try:
        sender.send(email_message(claimed))
    except (SendFailed, ValueError) as failure:
        # ValueError: a header the message cannot carry (a line break in an address);
        # it fails like any other try, and ends dead rather than stopping the worker.
        state = record_failure(claimed, str(failure))
        level = logging.ERROR if state is OutboxState.DEAD else logging.WARNING
        log.log(
            level,
            "outbox: message %s failed (try %s), now %s: %s",
            claimed.id,
            claimed.attempts,
            state,
            failure,
            extra={"outbox_message": claimed.id, "attempts": claimed.attempts},
        )
        if state is OutboxState.DEAD:
            report.dead += 1
        else:
            report.retrying += 1
        return False
    record_sent(claimed)
    log.info(
        "outbox: message %s sent (try %s)",
        claimed.id,
        claimed.attempts,
        extra={"outbox_message": claimed.id, "attempts": claimed.attempts},
    )
    report.sent += 1
    return True


def claim_next(due_by: datetime) -> ClaimedMessage | None:
    """Take the oldest queued message due by then, for the length of a lease; commits."""
    message = db.session.scalar(
        for_update(
            select(OutboxMessage)
            .where(OutboxMessage.state == OutboxState.QUEUED, OutboxMessage.due_at <= due_by)
            .order_by(OutboxMessage.due_at, OutboxMessage.id)
            .limit(1),
            skip_locked=True,
        )
    )
    if message is None:
        db.session.rollback()
        return None
    message.attempts += 1
    lease = timedelta(seconds=current_app.config["MAIL_TIMEOUT_SECONDS"] * CLAIM_LEASE_TIMEOUTS)
    message.due_at = utcnow() + lease
    claimed = ClaimedMessage(
        message.id,
        message.recipient,
        message.subject,
        message.body,
        message.created_at,
        message.attempts,
        message.request_id,
    )
    db.session.commit()
    return claimed


def email_message(claimed: ClaimedMessage) -> EmailMessage:
    """The e-mail as the SMTP server gets it.

    Date is when the decision was made, however late the message goes out. The Message-ID
    stays the same on every try, so a copy sent twice (a worker that died between the
    server's acceptance and recording it) is recognisably the same message.
    """
    config = current_app.config
    host = urlsplit(config["EXTERNAL_BASE_URL"]).hostname
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = claimed.recipient
    message["Subject"] = claimed.subject
    message["Date"] = format_datetime(claimed.created_at)
    message["Message-ID"] = f"<outbox.{claimed.id}.{claimed.created_at:%Y%m%d%H%M%S}@{host}>"
    message.set_content(claimed.body)
    return message


def record_sent(claimed: ClaimedMessage) -> None:
    """Mark it sent and drop its body; commits."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == claimed.id)
        .values(state=OutboxState.SENT, sent_at=utcnow(), body="", last_error=None)
    )
    db.session.commit()


def record_failure(claimed: ClaimedMessage, error: str) -> OutboxState:
    """Due again after the backoff, or dead after the last try; commits; the new state."""
    config = current_app.config
    if claimed.attempts >= config["OUTBOX_MAX_ATTEMPTS"]:
        state, due_at = OutboxState.DEAD, utcnow()
    else:
        state, due_at = OutboxState.QUEUED, utcnow() + retry_delay(claimed.attempts)
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == claimed.id)
        .values(state=state, due_at=due_at, last_error=error[:500])
    )
    db.session.commit()
    return state


def retry_delay(attempts: int) -> timedelta:
    """The wait after the attempts-th failed try: OUTBOX_RETRY_SECONDS, doubled each time."""
    return timedelta(seconds=current_app.config["OUTBOX_RETRY_SECONDS"] * 2 ** (attempts - 1))


def purge_sent(sent_before: datetime) -> int:
    """Delete the messages sent before then (their bodies are already empty); how many.

    Dead and waiting messages stay: they still need a worker or an administrator.
    """
    return db.session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.SENT, OutboxMessage.sent_at < sent_before)
        .execution_options(synchronize_session=False)
    ).rowcount


@dataclass(frozen=True)
class OutboxSummary:
    """What an administrator needs to see: how much waits, since when, and what died."""

    counts: dict[OutboxState, int]
    # The oldest message still waiting: long ago means SMTP is down or no worker runs.
    oldest_queued_at: datetime | None
    dead: list[OutboxMessage]


def outbox_backlog() -> tuple[int, int, datetime | None]:
    """Messages waiting and dead, and when the oldest waiting one was queued (monitoring)."""
    counts = dict(
        db.session.execute(
            select(OutboxMessage.state, func.count())
            .where(OutboxMessage.state.in_((OutboxState.QUEUED, OutboxState.DEAD)))
            .group_by(OutboxMessage.state)
        ).all()
    )
    oldest = db.session.scalar(
        select(func.min(OutboxMessage.created_at)).where(OutboxMessage.state == OutboxState.QUEUED)
    )
    return counts.get(OutboxState.QUEUED, 0), counts.get(OutboxState.DEAD, 0), oldest


def queued_beyond(limit: int) -> bool:
    """Whether more than `limit` messages wait; counts no further than that."""
    waiting = (
        select(OutboxMessage.id).where(OutboxMessage.state == OutboxState.QUEUED).limit(limit + 1)
    ).subquery()
    return db.session.scalar(select(func.count()).select_from(waiting)) > limit


def outbox_summary(dead_shown: int = 200) -> OutboxSummary:
    """Counts by state, the oldest waiting message's time, and the newest dead messages."""
    counts = dict.fromkeys(OutboxState, 0)
    for state, count in db.session.execute(
        select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    ):
        counts[state] = count
    oldest = db.session.scalar(
        select(func.min(OutboxMessage.created_at)).where(OutboxMessage.state == OutboxState.QUEUED)
    )
    dead = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.DEAD)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(dead_shown)
    ).all()
    return OutboxSummary(counts, oldest, list(dead))


def retry_dead(actor: Account, origin: Origin, message_id: int | None = None) -> int:
    """Queue one dead message again (or all of them) with a fresh count of tries; audited.

    How many were queued: a message already queued again, or never dead, counts for none.
    """
    statement = (
        update(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.DEAD)
        .values(state=OutboxState.QUEUED, attempts=0, due_at=utcnow())
        .returning(OutboxMessage.id, OutboxMessage.recipient)
    )
    if message_id is not None:
        statement = statement.where(OutboxMessage.id == message_id)
    requeued = db.session.execute(statement).all()
    for queued_id, recipient in requeued:
        record_event(
            "outbox.retried",
            subject_type="outbox_message",
            subject_id=queued_id,
            origin=origin,
            actor_account_id=actor.id,
            detail={"recipient": recipient},
        )
    db.session.commit()
    return len(requeued)
