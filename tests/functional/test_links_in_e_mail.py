"""Every link in every e-mail is on EXTERNAL_BASE_URL, whatever Host the request named.

A forged Host header must not turn a reset link into a link to the forger's site.
"""

import re

import pytest

from portal.accounts.models import AccountState, Role
from portal.auth import notifications as auth_notifications
from portal.changes import notifications as change_notifications
from portal.changes.models import (
    ChangeAction,
    ChangeKind,
    ChangeState,
    ManagerChange,
    ManagerChangeItem,
)
from portal.extensions import db
from portal.manager import notifications as manager_notifications
from portal.registration import notifications as registration_notifications
from portal.registration.models import ApplicationState
from portal.registration.services import applications_left_without_manager
from portal.verification import notifications as verification_notifications
from tests import factories
from tests.conftest import deliver_outbox
from tests.functional.helpers import csrf_token

FORGED = "http://evil.example"
PORTAL = "http://portal.test/"


def links_in(message) -> list[str]:
    """Every http(s) address in the message's text."""
    return re.findall(r"https?://\S+", message.get_content())


def test_a_reset_link_asked_for_under_a_forged_host_is_on_the_portal(client, smtp_sink):
    factories.account(state=AccountState.ACTIVE, username="host.victim", email="v@example.org")
    page = client.get("/password/forgot", base_url=FORGED).get_data(as_text=True)
    response = client.post(
        "/password/forgot",
        base_url=FORGED,
        data={"csrf_token": csrf_token(page), "username": "host.victim", "email": "v@example.org"},
    )
    assert response.status_code == 200
    [mail] = smtp_sink.wait_for(1)
    [link] = links_in(mail)
    assert link.startswith(PORTAL + "password/reset/")


def _change(manager, other, state):
    change = ManagerChange(
        change_no=f"M{factories.next_number():014d}",
        institution_id=manager.institution_id,
        filed_by_id=manager.id,
        kind=ChangeKind.DEACTIVATE,
        state=state,
        items=[ManagerChangeItem(account_id=other.id, action=ChangeAction.DEACTIVATE)],
    )
    db.session.add(change)
    db.session.flush()
    return change


def _sent_under_forged_host(app, send) -> None:
    with app.test_request_context("/", base_url=FORGED):
        send()
        db.session.flush()
    deliver_outbox(app)


SENDERS = {
    "reset link": lambda people: auth_notifications.send_reset_link(people.general, "tok", 30),
    "application received": lambda people: registration_notifications.send_application_received(
        people.application
    ),
    "left without manager": lambda people: registration_notifications.send_left_without_manager(
        applications_left_without_manager(people.orphaned_clinic)
    ),
    "manager verified": lambda people: verification_notifications.send_verified(
        people.manager_application
    ),
    "paper refused": lambda people: verification_notifications.send_paper_refused(
        people.manager_application
    ),
    "decision": lambda people: manager_notifications.send_decision(people.application, "ok"),
    "reactivated": lambda people: manager_notifications.send_reactivated(people.general),
    "new application": lambda people: manager_notifications.announce_application(
        people.application
    ),
    "digest": lambda people: manager_notifications.send_digest(
        [people.manager], [people.application]
    ),
    "change decided": lambda people: change_notifications.send_decided(people.change),
}


class People:
    """A clinic with a manager, a general user and their applications, and a decided change."""

    def __init__(self) -> None:
        clinic = factories.institution()
        self.manager = factories.active_manager(clinic)
        self.general = factories.account(institution=clinic, state=AccountState.ACTIVE)
        self.application = factories.application(
            factories.account(institution=clinic), state=ApplicationState.APPROVED
        )
        self.manager_application = factories.application(
            factories.account(institution=clinic, role=Role.MANAGER)
        )
        self.orphaned_clinic = factories.institution()
        factories.application(
            factories.account(institution=self.orphaned_clinic, role=Role.MANAGER),
            state=ApplicationState.REFUSED,
        )
        factories.application(factories.account(institution=self.orphaned_clinic))
        self.change = _change(self.manager, self.general, ChangeState.APPROVED)


@pytest.mark.parametrize("name", SENDERS)
def test_every_e_mail_links_only_to_the_portal_address(app, db_session, smtp_sink, name):
    people = People()
    _sent_under_forged_host(app, lambda: SENDERS[name](people))
    messages = smtp_sink.wait_for(1)
    links = [link for message in messages for link in links_in(message)]
    assert links, f"the {name} e-mail carries no link"
    assert all(link.startswith(PORTAL) for link in links), links
