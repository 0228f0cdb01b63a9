"""Binding a server-side session to the browser's cookie, for Flask-Login."""

from urllib.parse import urlsplit

from flask import flash, redirect, request, session
from flask_login import current_user, login_url, login_user, logout_user

from portal.accounts.models import Account
from portal.audit.services import Origin
from portal.auth.services import end_session, session_account, start_session
from portal.extensions import htmx, login_manager
from portal.rendering import see_other, wants_fragment

SESSION_TOKEN_KEY = "sid"
# Password right, second factor still to come (staff): the account and since when.
PENDING_SECOND_FACTOR_KEY = "pending_second_factor"
# What a browser keeps when it signs in or out: the language it chose, and nothing else.
KEPT_ACROSS_SIGN_IN = ("language",)


def fresh_session() -> None:
    """Forget all this browser's session holds but its chosen language."""
    kept = {key: session[key] for key in KEPT_ACROSS_SIGN_IN if key in session}
    session.clear()
    session.update(kept)


def sign_in(account: Account, origin: Origin, auth_methods: str = "pwd") -> None:
    """Start a fresh session: nothing of the anonymous one but the language (no fixation)."""
    fresh_session()
    token = start_session(account, origin, auth_methods).token
    session[SESSION_TOKEN_KEY] = token
    login_user(account)


def sign_out(origin: Origin) -> None:
    """End this browser's session on the server; the cookie keeps only the language."""
    token = session.get(SESSION_TOKEN_KEY)
    if token:
        end_session(token, origin)
    logout_user()
    fresh_session()


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
        fresh_session()
        return None
    return account


def unauthorized():
    """Flask-Login's answer to a page that needs sign-in: 服務登入, then back here.

    For an HTMX request, "here" is the page the person is on, not the fragment's URL, and
    the browser must go there as a page: htmx would otherwise swap the sign-in page into
    the fragment (or, through an hx-select, nothing at all).
    """
    flash(str(login_manager.login_message))
    if not wants_fragment():
        return redirect(login_url(login_manager.login_view, next_url=request.url))
    page = urlsplit(htmx.current_url or "/")
    here = page.path + (f"?{page.query}" if page.query else "")
    return see_other(login_url(login_manager.login_view, next_url=here))
