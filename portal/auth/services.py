"""Sign-in rules: who may enter, server-side sessions; lockout is kept in auth/lockout.py."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.orm import joinedload

from portal.accounts.models import Account, AccountState, username_key
from portal.audit.services import Origin, record_event
from portal.auth import lockout, totp
from portal.auth.models import UserSession
from portal.db_types import utcnow
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.security.passwords import dummy_hash, hash_password, needs_rehash, verify_password


class SignInRefused(Exception):
    """Sign-in did not succeed; the message is what the person is told."""

    message = _l("帳號或密碼錯誤。")

    def __str__(self) -> str:
        return str(self.message)


class WrongCredentials(SignInRefused):
    """A wrong password, no such account, or an address locked out: told apart by nobody."""

    message = _l("帳號或密碼錯誤。")


class WrongSecondFactor(SignInRefused):
    message = _l("驗證碼不正確或已使用過，請輸入驗證器 App 目前顯示的驗證碼。")


class AccountLocked(SignInRefused):
    """Said only to someone who has shown the password (second factor, 我的帳號)."""

    message = _l(
        "失敗次數過多，暫時無法從目前的網路位置登入這個帳號。"
        "請稍後再試，或使用「忘記密碼」重設密碼（重設後即可登入）。"
    )


class AccountNotActive(SignInRefused):
    """The password was right but the account may not sign in; says which state it is in."""

    MESSAGES = {
        AccountState.PENDING: _l(
            "您的帳號申請尚在審核中，核准後才能登入。可至「申請進度查詢」查看進度。"
        ),
        AccountState.REFUSED: _l("您的帳號申請未獲核准，無法登入。如有疑問請洽系統服務窗口。"),
        AccountState.DEACTIVATED: _l(
            "您的帳號已停用，無法登入。如需恢復請洽貴機構的單位業務管理者。"
        ),
    }

    def __init__(self, state: AccountState) -> None:
        super().__init__(state)
        self.state = state
        self.message = self.MESSAGES[state]


@dataclass(frozen=True)
class SessionToken:
    """A new session: the row, and the token only the browser keeps."""

    session: UserSession
    token: str


def token_digest(token: str) -> str:
    """The digest a token is stored and found by."""
    return hashlib.sha256(token.encode()).hexdigest()


def authenticate(
    username: str, password: str, origin: Origin, now: datetime | None = None
) -> Account:
    """The account if the password is right and it may sign in; raises SignInRefused.

    No such account, a wrong password and an address locked out of the account all get
    WrongCredentials, after the same work, so that the answer tells nobody which names exist.
    """
    now = now or utcnow()
    account = db.session.scalar(
        select(Account).where(Account.username_key == username_key(username))
    )
    if account is None:
        # Same work as for a real account, so timing does not tell which names exist.
        verify_password(dummy_hash(), password)
        _audit("login.failed", None, origin, {"username": username[:30], "reason": "unknown"})
        db.session.commit()
        raise WrongCredentials()
    password_ok = verify_password(account.password_hash, password)
    if lockout.is_locked(account, origin, now):
        lockout.record_refused(account, origin)
        raise WrongCredentials()
    if not password_ok:
        lockout.record_failure(account, origin, "login.failed", now)
        raise WrongCredentials()
    if account.state is not AccountState.ACTIVE:
        _audit("login.refused_state", account, origin, {"state": account.state.value})
        db.session.commit()
        raise AccountNotActive(account.state)
    if needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    # No count to clear: the sign-in recorded with the new session starts this address's
    # count afresh. For staff that comes only after the right code too, or a known password
    # would buy unlimited guesses at the six digits.
    return account


def check_second_factor(
    account: Account, code: str, origin: Origin, now: datetime | None = None
) -> None:
    """Accept a staff member's authenticator code; raises SignInRefused.

    A wrong code counts towards the same lockout as a wrong password; the person has shown
    the password already, so a lock is named as such (AccountLocked).
    """
    now = now or utcnow()
    if lockout.is_locked(account, origin, now):
        lockout.record_refused(account, origin)
        raise AccountLocked()
    step = totp.matching_step(account, code, now)
    if step is None or not _claim_step(account, step, now):
        locked = lockout.record_failure(account, origin, "login.second_factor_failed", now)
        raise AccountLocked() if locked else WrongSecondFactor()


def _claim_step(account: Account, step: int, now: datetime) -> bool:
    """Mark the code's time step used, unless it or a later one was: whether this call did.

    One conditional UPDATE, so that of several requests carrying the same code at once only
    one changes the row (PostgreSQL re-checks the condition after waiting for the row lock;
    SQLite has one writer at a time). The first code accepted also confirms enrolment.
    """
    claimed = db.session.execute(
        update(Account)
        .where(
            Account.id == account.id,
            or_(Account.totp_last_step.is_(None), Account.totp_last_step < step),
        )
        .values(
            totp_last_step=step,
            totp_confirmed_at=func.coalesce(Account.totp_confirmed_at, now),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    db.session.refresh(account)
    return claimed == 1


def start_session(account: Account, origin: Origin, auth_methods: str = "pwd") -> SessionToken:
    """Open a new server-side session for the account and record the sign-in.

    `auth_methods` says how the person proved who they are ("pwd", or "pwd otp" with the
    second factor); subsystems read it from the ID token.
    """
    token = secrets.token_urlsafe(32)
    row = UserSession(
        token_digest=token_digest(token),
        account_id=account.id,
        remote_addr=origin.remote_addr,
        user_agent=(origin.user_agent or "")[:200] or None,
        auth_methods=auth_methods,
    )
    db.session.add(row)
    _audit("login.succeeded", account, origin)
    db.session.commit()
    return SessionToken(row, token)


def session_account(token: str, now: datetime | None = None) -> Account | None:
    """The account of a live session; ends and refuses sessions past their time limits."""
    now = now or utcnow()
    row = db.session.scalar(
        select(UserSession)
        .where(UserSession.token_digest == token_digest(token))
        # Every signed-in request needs the account: one query, not two.
        .options(joinedload(UserSession.account))
    )
    if row is None or row.ended_at is not None:
        return None
    config = current_app.config
    idle_limit = row.last_seen_at + timedelta(minutes=config["SESSION_IDLE_MINUTES"])
    absolute_limit = row.created_at + timedelta(hours=config["SESSION_ABSOLUTE_HOURS"])
    if now >= idle_limit or now >= absolute_limit or not row.account.is_active:
        row.ended_at = now
        db.session.commit()
        return None
    # Refresh the idle clock at most once a minute, not on every request.
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
        db.session.commit()
    return row.account


def end_session(token: str, origin: Origin) -> None:
    """Sign one browser out."""
    row = db.session.scalar(
        select(UserSession).where(UserSession.token_digest == token_digest(token))
    )
    if row is not None and row.ended_at is None:
        from portal.oidc.logout import session_ended

        row.ended_at = utcnow()
        session_ended(row.id)
        _audit("logout", row.account, origin)
        db.session.commit()


def dead_sessions(dead_before: datetime) -> Select:
    """The ids of the sessions that ended, or passed a time limit, before then.

    A session not marked ended is dead once idle or old past its limits (nobody came back
    to have it marked), so each condition alone means it was over before the moment given.
    """
    config = current_app.config
    idle = timedelta(minutes=config["SESSION_IDLE_MINUTES"])
    absolute = timedelta(hours=config["SESSION_ABSOLUTE_HOURS"])
    return select(UserSession.id).where(
        or_(
            UserSession.ended_at < dead_before,
            UserSession.last_seen_at < dead_before - idle,
            UserSession.created_at < dead_before - absolute,
        )
    )


def purge_sessions(dead_before: datetime) -> int:
    """Delete the sessions dead before then (their relying-party sign-ins first); how many."""
    from portal.oidc.purge import purge_logins_of

    purge_logins_of(dead_sessions(dead_before))
    return db.session.execute(
        delete(UserSession)
        .where(UserSession.id.in_(dead_sessions(dead_before)))
        .execution_options(synchronize_session=False)
    ).rowcount


def end_other_sessions(
    account: Account, keep_token: str | None = None, reason: str = "password_changed"
) -> int:
    """End every session of the account but the one given; how many were ended.

    Every subsystem the person is signed in to is told (back-channel logout), the kept
    session's too: what ends sessions here is a new password or a deactivation.
    """
    from portal.oidc.logout import account_sessions_ended

    statement = update(UserSession).where(
        UserSession.account_id == account.id, UserSession.ended_at.is_(None)
    )
    if keep_token:
        statement = statement.where(UserSession.token_digest != token_digest(keep_token))
    ended = db.session.execute(statement.values(ended_at=utcnow())).rowcount
    account_sessions_ended(account.id, reason)
    return ended


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
