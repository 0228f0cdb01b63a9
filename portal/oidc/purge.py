"""Forgetting relying-party sign-ins long over, with the daily purge of portal sessions.

A sign-in here belongs to a portal session; its codes and tokens to the sign-in. Once the
session has been over for days, every code and token of it has expired (no token outlives
its session), so they go first, then the sign-ins, then (auth.services) the session.
"""

from datetime import datetime

from sqlalchemy import Select, delete, select

from portal.extensions import db
from portal.oidc.models import (
    DeliveryState,
    LogoutDelivery,
    OidcAuthorizationCode,
    OidcLogin,
    OidcToken,
)


def purge_logins_of(sessions: Select) -> int:
    """Delete the sign-ins of these portal sessions (a select of their ids), with their
    codes and tokens; how many sign-ins."""
    logins = select(OidcLogin.id).where(OidcLogin.user_session_id.in_(sessions))
    for model in (OidcToken, OidcAuthorizationCode):
        db.session.execute(
            delete(model)
            .where(model.login_id.in_(logins))
            .execution_options(synchronize_session=False)
        )
    return db.session.execute(
        delete(OidcLogin)
        .where(OidcLogin.id.in_(logins))
        .execution_options(synchronize_session=False)
    ).rowcount


def purge_sent_logouts(sent_before: datetime) -> int:
    """Delete the logout tokens delivered before then; how many. Dead ones stay."""
    return db.session.execute(
        delete(LogoutDelivery)
        .where(LogoutDelivery.state == DeliveryState.SENT, LogoutDelivery.sent_at < sent_before)
        .execution_options(synchronize_session=False)
    ).rowcount
