"""The daily jobs: the help desk's digest, the managers' digest, and the purge."""

from datetime import datetime, timedelta
from typing import Any

from flask import current_app

from portal.auth.passwords import purge_reset_tokens
from portal.auth.services import purge_sessions
from portal.localtime import local_date
from portal.manager.services import send_pending_digests
from portal.oidc.purge import purge_sent_logouts
from portal.outbox.services import purge_sent
from portal.review.deadlines import help_desk_digest
from portal.review.notifications import send_help_desk_digest
from portal.schedule.services import Job
from portal.verification.services import purge_challenges
from portal.workcalendar.services import current_calendar


def help_desk_digest_job(now: datetime) -> dict[str, Any]:
    """On a working day, e-mail the help desk what is overdue and due by the next working
    day; nothing on other days (typhoon closures included) or when nothing is due."""
    calendar = current_calendar()
    today = local_date(now)
    if not calendar.is_working_day(today):
        return {"skipped": "not a working day"}
    digest = help_desk_digest(calendar, today)
    queued = 0 if digest.empty else send_help_desk_digest(digest)
    return {
        "queued": queued,
        "overdue": digest.overdue.count,
        "due_today": digest.due_today.count,
        "due_next_working_day": digest.due_next.count,
    }


def manager_digest_job(now: datetime) -> dict[str, Any]:
    """E-mail each institution's active managers the general users still waiting for them."""
    return {"queued": send_pending_digests()}


def purge_job(now: datetime) -> dict[str, Any]:
    """Delete sessions (with the subsystems' sign-ins of them), card challenges and reset
    links long over, and old sent mail and logout tokens."""
    config = current_app.config
    over_before = now - timedelta(days=config["PURGE_EXPIRED_AFTER_DAYS"])
    sent_before = now - timedelta(days=config["OUTBOX_SENT_RETENTION_DAYS"])
    return {
        "sessions": purge_sessions(over_before),
        "card_challenges": purge_challenges(over_before),
        "reset_tokens": purge_reset_tokens(over_before),
        "sent_mail": purge_sent(sent_before),
        "sent_logout_tokens": purge_sent_logouts(sent_before),
    }


JOBS = (
    Job("help_desk_digest", "HELP_DESK_DIGEST_AT", help_desk_digest_job),
    Job(
        "manager_digest",
        "MANAGER_DIGEST_AT",
        manager_digest_job,
        enabled=lambda config: config["MANAGER_NOTICE"] == "daily",
    ),
    Job("purge", "PURGE_AT", purge_job),
)
