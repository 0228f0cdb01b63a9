"""Forgotten and changed passwords: one-time reset links, changes, notices."""

import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from portal.accounts.models import Account, username_key
from portal.audit.services import Origin, record_event
from portal.auth import lockout
from portal.auth.models import PasswordResetToken
from portal.auth.notifications import send_password_changed, send_reset_link
from portal.auth.services import AccountLocked, end_other_sessions, token_digest
from portal.db_types import utcnow
from portal.errors import DomainError
from portal.extensions import db
from portal.locking import for_update
from portal.security.passwords import hash_password, verify_password


class InvalidResetLink(Exception):
    """The link is unknown, used already, or too old."""

    message = _l("這個重設密碼連結已失效（已使用或超過時效）。請重新申請。")


class WrongCurrentPassword(DomainError):
    """The current password given for a change is wrong."""

    status = 422
    message = _l("目前的密碼不正確。")


class CurrentPasswordNeeded(DomainError):
    """A change that would hand over the account was asked for without the password."""

    status = 422
    message = _l("請輸入目前的密碼。")


class LockedOutOfAccount(DomainError):
    """Too many wrong passwords from this address: locked as for sign-in; the session ends."""

    status = 403
    message = AccountLocked.message


def request_reset(username: str, email: str, origin: Origin) -> None:
    """Queue a reset link to the account with this name and e-mail, if there is one."""
    account = db.session.scalar(
        select(Account).where(
            Account.username_key == username_key(username),
            func.lower(Account.email) == email.strip().lower(),
        )
    )
    if account is None:
        return
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    send_reset_link(account, issue_reset_token(account, minutes), minutes)
    _audit("password.reset_requested", account, origin)
    db.session.commit()


def issue_reset_token(account: Account, minutes: int) -> str:
    """A new one-time link token for the account, valid for so many minutes; the caller
    commits it, with the e-mail that carries it."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordResetToken(
            token_digest=token_digest(token),
            account_id=account.id,
            expires_at=utcnow() + timedelta(minutes=minutes),
        )
    )
    return token


def account_for_reset(token: str) -> Account:
    """The account a valid, unused reset token belongs to; raises InvalidResetLink."""
    row = _usable_token(token)
    return row.account


def reset_password(token: str, new_password: str, origin: Origin) -> Account:
    """Set the new password, use up the token, end every session of the account, and
    tell its owner."""
    row = _usable_token(token, lock=True)
    account = row.account
    row.used_at = utcnow()
    _set_password(account, new_password)
    end_other_sessions(account)
    _audit("password.reset", account, origin)
    send_password_changed(account)
    db.session.commit()
    return account


def confirm_current_password(
    account: Account, password: str, origin: Origin, now: datetime | None = None
) -> None:
    """Check the signed-in person's current password before a change that would hand over
    the account (a new password, a new e-mail for the reset links).

    A wrong one counts towards the same lockout as a wrong one at sign-in; once this
    address is locked out of the account, LockedOutOfAccount says the session must end.
    """
    now = now or utcnow()
    if not password:
        raise CurrentPasswordNeeded()
    password_ok = verify_password(account.password_hash, password)
    if lockout.is_locked(account, origin, now):
        lockout.record_refused(account, origin)
        raise LockedOutOfAccount()
    if not password_ok:
        if lockout.record_failure(account, origin, "account.current_password_failed", now):
            raise LockedOutOfAccount()
        raise WrongCurrentPassword()


def change_password(
    account: Account, current: str, new_password: str, keep_session_token: str, origin: Origin
) -> None:
    """Change the password after checking the current one; other sessions end; the owner
    is told by e-mail."""
    confirm_current_password(account, current, origin)
    _set_password(account, new_password)
    end_other_sessions(account, keep_token=keep_session_token)
    _audit("password.changed", account, origin)
    send_password_changed(account)
    db.session.commit()


def _usable_token(token: str, lock: bool = False) -> PasswordResetToken:
    statement = select(PasswordResetToken).where(
        PasswordResetToken.token_digest == token_digest(token)
    )
    if lock:
        # Two tabs using one link at once: the second waits, then finds it used.
        statement = for_update(statement)
    row = db.session.scalar(statement)
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise InvalidResetLink()
    return row


def _set_password(account: Account, new_password: str) -> None:
    now = utcnow()
    account.password_hash = hash_password(new_password)
    # The password.reset or password.changed event recorded with it lifts every lockout.
    account.password_changed_at = now
    # Any other link still in a mailbox (reset or staff invitation) dies with the old password.
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.account_id == account.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now)
    )


def _audit(action: str, account: Account, origin: Origin) -> None:
    record_event(
        action,
        subject_type="account",
        subject_id=account.id,
        origin=origin,
        actor_account_id=account.id,
        institution_id=account.institution_id,
    )
