"""Sign-in under races: one authenticator code opens one session, however many browsers
post it at the same moment, on PostgreSQL as on SQLite."""

import time
from functools import partial

import pyotp
from sqlalchemy import func, select

from portal.accounts.models import StaffRole
from portal.audit.models import AuditEvent
from portal.auth.models import UserSession
from portal.extensions import db
from portal.security.encryption import decrypt_text
from tests import factories
from tests.functional.auth_helpers import login
from tests.functional.helpers import at_once, csrf_token

BROWSERS = 6


def _linger_while_checking_codes(monkeypatch, seconds=0.1):
    """Each code comparison waits a little, so that the racing requests overlap there.

    Without an atomic claim of the code's time step, every request then passes the
    "not used before" check before any of them has stored the step.
    """
    original = pyotp.TOTP.at

    def lingering(self, *args, **kwargs):
        time.sleep(seconds)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pyotp.TOTP, "at", lingering)


def test_one_code_posted_by_six_browsers_at_once_signs_in_one(live_app, monkeypatch):
    with live_app.app_context():
        person = factories.staff(StaffRole.HELP_DESK)
        db.session.commit()
        username, person_id = person.username, person.id
        secret = decrypt_text(person.totp_secret_encrypted)
    clients = [live_app.test_client() for _ in range(BROWSERS)]
    posts = []
    for client in clients:
        assert login(client, username).status_code == 303
        token = csrf_token(client.get("/login/second-factor").get_data(as_text=True))
        posts.append((client, token))
    code = pyotp.TOTP(secret).now()
    _linger_while_checking_codes(monkeypatch)
    responses = at_once(
        *(
            partial(client.post, "/login/second-factor", data={"csrf_token": token, "code": code})
            for client, token in posts
        )
    )

    # A signed-in help desk lands on its queue.
    signed_in = [r for r in responses if r.headers.get("Location") == "/review"]
    # The others are told the code was used (or, once their failures add up, sent back to
    # sign in again): none gets a session.
    assert len(signed_in) == 1
    with live_app.app_context():
        sessions = db.session.scalar(
            select(func.count()).select_from(UserSession).where(UserSession.account_id == person_id)
        )
        sign_ins = db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "login.succeeded", AuditEvent.actor_account_id == person_id)
        )
    assert sessions == sign_ins == 1
