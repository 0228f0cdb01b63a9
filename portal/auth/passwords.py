"""Forgotten and changed passwords: one-time reset links, changes, notices."""

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, insert, literal, select, update

from portal.accounts.models import Account, username_key
from portal.audit.services import Origin, record_event
from portal.auth import lockout
from portal.auth.models import PasswordResetToken
from portal.auth.notifications import send_password_changed, send_reset_link
from portal.auth.services import AccountLocked, end_other_sessions, token_digest
from portal.db_types import UTCDateTime, utcnow
from portal.errors import DomainError
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
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


# The id of the stand-in that request_reset uses when nothing matched: no account has it.
NO_ACCOUNT = 0


def request_reset(username: str, email: str, origin: Origin) -> None:
    """Queue a reset link to the account with this name and e-mail, if there is one.

    Whether the two belong together must show neither in the answer nor in how long it
    takes, so both paths run the same statements: the link is rendered either way (for a
    stand-in when nothing matched), the token and the message are inserted from the
    account's row, of which the stand-in has none, and one audit event is written. The
    worker sends the message after the commit.
    """
    account = db.session.scalar(
        select(Account).where(
            Account.username_key == username_key(username),
            func.lower(Account.email) == email.strip().lower(),
        )
    )
    addressee = account or Account(id=NO_ACCOUNT, username=username.strip(), name="")
    minutes = current_app.config["PASSWORD_RESET_MINUTES"]
    send_reset_link(addressee, issue_reset_token(addressee, minutes), minutes)
    if account is None:
        _audit("password.reset_unmatched", None, origin, {"username": username[:30]})
    else:
        _audit("password.reset_requested", account, origin)
    db.session.commit()


def issue_reset_token(account: Account, minutes: int) -> str:
    """A new one-time link token for the account, valid for so many minutes; the caller
    commits it, with the e-mail that carries it.

    Inserted from the account's row: for a stand-in whose id no account has, the same
    statement inserts nothing (see request_reset).
    """
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(minutes=minutes)
    db.session.execute(
        insert(PasswordResetToken).from_select(
            ["token_digest", "account_id", "expires_at"],
            select(
                literal(token_digest(token)), Account.id, literal(expires_at, UTCDateTime)
            ).where(Account.id == account.id),
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


def purge_reset_tokens(expired_before: datetime) -> int:
    """Delete the reset and invitation links that expired before then; how many."""
    return db.session.execute(
        delete(PasswordResetToken)
        .where(PasswordResetToken.expires_at < expired_before)
        .execution_options(synchronize_session=False)
    ).rowcount


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


def _audit(
    action: str, account: Account | None, origin: Origin, detail: dict | None = None
) -> None:
    record_event(
        action,
        subject_type="account",
        subject_id=account.id if account else "-",
        origin=origin,
        actor_account_id=account.id if account else None,
        institution_id=account.institution_id if account else None,
        detail=detail,
    )
