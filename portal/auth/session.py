"""Binding a server-side session to the browser's cookie, for Flask-Login."""

from flask import session
from flask_login import current_user, login_user, logout_user

from portal.accounts.models import Account
from portal.audit.services import Origin
from portal.auth.services import end_session, session_account, start_session

SESSION_TOKEN_KEY = "sid"
# Password right, second factor still to come (staff): the account and since when.
PENDING_SECOND_FACTOR_KEY = "pending_second_factor"


def sign_in(account: Account, origin: Origin) -> None:
    """Start a fresh session: nothing of the anonymous one is carried over (no fixation)."""
    session.clear()
    token = start_session(account, origin).token
    session[SESSION_TOKEN_KEY] = token
    login_user(account)


def sign_out(origin: Origin) -> None:
    """End this browser's session on the server and forget the cookie's contents."""
    token = session.get(SESSION_TOKEN_KEY)
    if token:
        end_session(token, origin)
    logout_user()
    session.clear()


def current_session_token() -> str | None:
    """The token of this browser's session, if signed in."""
    return session.get(SESSION_TOKEN_KEY)


def holds_a_person() -> bool:
    """Whether this browser is signed in, or half-way through (the second factor to come)."""
    return current_user.is_authenticated or PENDING_SECOND_FACTOR_KEY in session


def load_account(account_id: str) -> Account | None:
    """Flask-Login's user loader: the account, only while its server-side session lives."""
    token = session.get(SESSION_TOKEN_KEY)
    if not token:
        return None
    account = session_account(token)
    if account is None or str(account.id) != account_id:
        session.clear()
        return None
    return account
