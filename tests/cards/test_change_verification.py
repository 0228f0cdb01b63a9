"""Each kind of manager change verified with the institution card on the real PC/SC stack.

pcscd + vpcd + the virtual card sign the change's challenge through the helper's HTTP API,
exactly as card.js asks it to; the portal checks the answer and applies the change at once.
"""

import base64
import re

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from portal.accounts.models import AccountState, Role
from portal.changes.models import ChangeState, ManagerChange
from tests import factories
from tests.cards.helper_client import request, sign_body
from tests.cards.pki import INSTITUTION_CODE
from tests.cards.stack import CARD_PIN
from tests.functional.auth_helpers import login, post_form
from tests.functional.helpers import csrf_token

# Where the test client reaches the portal: the origin its pages' challenges name, and the
# one the helper is started for.
CLIENT_ORIGIN = "http://localhost"


@pytest.fixture
def anchors_dir(app, root_ca, issuing_ca, tmp_path):
    # Its own folder: the virtual card keeps its key in tmp_path.
    folder = tmp_path / "anchors"
    folder.mkdir()
    for name, authority in (("root.pem", root_ca), ("issuing.pem", issuing_ca)):
        pem = authority.certificate.public_bytes(serialization.Encoding.PEM)
        (folder / name).write_bytes(pem)
    saved = app.config["CARD_TRUST_ANCHORS_DIR"]
    app.config["CARD_TRUST_ANCHORS_DIR"] = str(folder)
    yield folder
    app.config["CARD_TRUST_ANCHORS_DIR"] = saved


def person(clinic, role):
    return factories.account(institution=clinic, role=role, state=AccountState.ACTIVE)


@pytest.mark.parametrize("kind", ["deactivate", "promote", "demote", "handover"])
def test_each_kind_applies_at_once_with_the_card(
    client, db_session, anchors_dir, helper_server, insert_card, kind
):
    clinic = factories.institution(code=INSTITUTION_CODE)
    filer, other = person(clinic, Role.MANAGER), person(clinic, Role.MANAGER)
    general = person(clinic, Role.GENERAL)
    fields = {
        "deactivate": {"target_id": other.id},
        "promote": {"target_id": general.id},
        "demote": {"target_id": other.id},
        "handover": {
            "target_id": other.id,
            "handover_action": "demote",
            "successor_id": general.id,
        },
    }[kind]
    login(client, filer.username)
    filed = post_form(
        client, "/manager-changes/new", "/manager-changes/new", {"kind": kind, **fields}
    )
    assert filed.status_code == 303
    change_page = filed.headers["Location"]
    html = client.get(f"{change_page}/card").get_data(as_text=True)
    challenge = re.search(r'data-challenge="([^"]+)"', html).group(1)
    challenge_id = re.search(r'name="challenge_id" value="(\d+)"', html).group(1)

    insert_card()
    status, _, signed = request(
        helper_server(origin=CLIENT_ORIGIN).url,
        "POST",
        "/v1/sign",
        origin=CLIENT_ORIGIN,
        body=sign_body(CARD_PIN, base64.b64decode(challenge)),
    )
    assert status == 200, signed
    answer = client.post(
        f"{change_page}/card",
        data={
            "csrf_token": csrf_token(html),
            "challenge_id": challenge_id,
            "certificate": signed["certificate"],
            "signature": signed["signature"],
        },
    )
    assert answer.status_code == 303
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "機構卡驗證成功，異動已生效" in page
    db_session.expire_all()
    change = db_session.scalar(select(ManagerChange))
    assert change.state is ChangeState.APPROVED and change.verified_by == "card"
    expected = {
        "deactivate": lambda: other.state is AccountState.DEACTIVATED,
        "promote": lambda: general.role is Role.MANAGER,
        "demote": lambda: other.role is Role.GENERAL,
        "handover": lambda: other.role is Role.GENERAL and general.role is Role.MANAGER,
    }[kind]
    assert expected()
