"""Lockout after failed attempts, kept so that it cannot be used to lock someone else out.

Failures are counted from the audit trail, where every one is recorded anyway (who, when,
from which address); nothing else holds the count, so concurrent failures are all counted.

- From one address: LOGIN_MAX_FAILURES failures against an account within
  LOGIN_LOCK_MINUTES lock that address out of that account. A sign-in from another address
  still works, so a stranger's guesses do not keep the owner out. A successful sign-in from
  the address starts its count afresh.
- From everywhere together: LOGIN_ACCOUNT_MAX_FAILURES failures against an account within
  LOGIN_LOCK_MINUTES (guesses spread over many addresses) lock it for every address it has
  never signed in from; where the owner has signed in before, only that address's own count
  applies.
- A new password (reset link, or changed on 我的帳號) lifts every lock of the account.

A failure is a wrong password at sign-in, a wrong authenticator code, or a wrong current
password on 我的帳號 (where a stolen session would otherwise guess it freely). Attempts made
while locked are recorded but not counted, so persistence does not lengthen the lock.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, func, select

from portal.accounts.models import Account
from portal.audit.models import AuditEvent
from portal.audit.services import Origin, record_event
from portal.extensions import db

FAILURES = ("login.failed", "login.second_factor_failed", "account.current_password_failed")
NEW_PASSWORD = ("password.reset", "password.changed")
SIGNED_IN = "login.succeeded"


@dataclass(frozen=True)
class FailureCount:
    """Recent failures against one account: from this address, from everywhere."""

    here: int
    everywhere: int
    familiar_address: bool

    def locked(self, config) -> bool:
        """Whether these failures lock this address out of the account."""
        if self.here >= config["LOGIN_MAX_FAILURES"]:
            return True
        return not self.familiar_address and self.everywhere >= config["LOGIN_ACCOUNT_MAX_FAILURES"]


def is_locked(account: Account, origin: Origin, now: datetime) -> bool:
    """Whether sign-in (and password checks) of this account from this address is refused."""
    return _count(account, origin, now).locked(current_app.config)


def record_failure(account: Account, origin: Origin, action: str, now: datetime) -> bool:
    """Record a failed attempt and commit; whether the address is now locked out."""
    if action not in FAILURES:
        raise ValueError(f"{action} is not a counted failure")
    _audit(action, account, origin, {"reason": "password"} if action == "login.failed" else None)
    db.session.flush()
    count = _count(account, origin, now)
    locked = count.locked(current_app.config)
    if locked:
        _audit("login.locked", account, origin, {"here": count.here, "all": count.everywhere})
    db.session.commit()
    return locked


def record_refused(account: Account, origin: Origin) -> None:
    """Record an attempt refused because the address is locked out (not counted)."""
    _audit("login.refused_locked", account, origin)
    db.session.commit()


def _count(account: Account, origin: Origin, now: datetime) -> FailureCount:
    """Failures within the lock window, after the last new password; those from this address
    after its last successful sign-in. Event ids order events, also within one instant."""
    mine = AuditEvent.actor_account_id == account.id
    here = AuditEvent.remote_addr.is_not_distinct_from(origin.remote_addr)
    new_password_after = (
        select(func.coalesce(func.max(AuditEvent.id), 0))
        .where(mine, AuditEvent.action.in_(NEW_PASSWORD))
        .scalar_subquery()
    )
    signed_in_here_after = (
        select(func.coalesce(func.max(AuditEvent.id), 0))
        .where(mine, AuditEvent.action == SIGNED_IN, here)
        .scalar_subquery()
    )
    window = timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
    everywhere, from_here, last_sign_in_here = db.session.execute(
        select(
            func.count(AuditEvent.id),
            func.coalesce(
                func.sum(case((and_(here, AuditEvent.id > signed_in_here_after), 1), else_=0)), 0
            ),
            signed_in_here_after,
        ).where(
            mine,
            AuditEvent.action.in_(FAILURES),
            AuditEvent.occurred_at > now - window,
            AuditEvent.id > new_password_after,
        )
    ).one()
    return FailureCount(
        here=int(from_here), everywhere=int(everywhere), familiar_address=last_sign_in_here > 0
    )


def _audit(action: str, account: Account, origin: Origin, detail: dict | None = None) -> None:
    record_event(
        action,
        subject_type="account",
        subject_id=account.id,
        origin=origin,
        actor_account_id=account.id,
        institution_id=account.institution_id,
        detail=detail,
    )
