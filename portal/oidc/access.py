"""Who may be signed in to a subsystem: an active account whose access was approved.

The provider asks `may_use` before it issues a code and again before every token; the page
shown when access is missing reads `access_to` to say what is missing and why.
"""

import enum
from dataclasses import dataclass

from sqlalchemy import select

from portal.accounts.models import Account
from portal.extensions import db
from portal.oidc.models import OidcClient
from portal.subsystems.models import RequestState, SubsystemRequest


class Access(enum.StrEnum):
    """Where a person stands with a subsystem."""

    GRANTED = "granted"
    WAITING = "waiting"
    REFUSED = "refused"
    REVOKED = "revoked"
    NEVER_ASKED = "never_asked"


STATE_ACCESS = {
    RequestState.APPROVED: Access.GRANTED,
    RequestState.PENDING: Access.WAITING,
    RequestState.REFUSED: Access.REFUSED,
    RequestState.REVOKED: Access.REVOKED,
}


@dataclass(frozen=True)
class AccessStanding:
    """The person's standing with one subsystem, and the request behind it, if any."""

    access: Access
    request: SubsystemRequest | None


def request_for(account_id: int, subsystem_id: int) -> SubsystemRequest | None:
    """The account's request for the subsystem, if it ever asked."""
    return db.session.scalar(
        select(SubsystemRequest).where(
            SubsystemRequest.account_id == account_id,
            SubsystemRequest.subsystem_id == subsystem_id,
        )
    )


def access_to(account: Account, subsystem_id: int) -> AccessStanding:
    """Where the account stands with the subsystem."""
    item = request_for(account.id, subsystem_id)
    if item is None:
        return AccessStanding(Access.NEVER_ASKED, None)
    return AccessStanding(STATE_ACCESS[item.state], item)


def may_use(account: Account, client: OidcClient) -> bool:
    """Whether the account is active and approved for the client's subsystem."""
    if not account.is_active or not client.active or not client.subsystem.active:
        return False
    item = request_for(account.id, client.subsystem_id)
    return item is not None and item.state is RequestState.APPROVED
