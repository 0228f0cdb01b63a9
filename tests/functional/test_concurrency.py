"""Races end in one consistent state: two applicants for one account name, a double click,
two tabs answering the card check at once."""

from datetime import timedelta
from functools import partial
from types import SimpleNamespace

from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select

from portal.accounts.models import Account, AccountState, Role
from portal.audit.models import AuditEvent
from portal.db_types import utcnow
from portal.extensions import db
from portal.registration.models import Application, ApplicationState
from portal.verification.challenges import encoded_challenge, new_nonce
from portal.verification.models import CardChallenge
from tests import factories
from tests.cards.pki import INSTITUTION_CODE, issue_card, make_authority
from tests.functional.helpers import at_once, text_of
from tests.functional.test_card_verification import (
    CLIENT_ORIGIN,
    answer,
    open_card_page,
    sign,
)
from tests.functional.test_registration import valid_form


def test_same_username_twice_at_once_makes_one_account(live_app, smtp_sink):
    with live_app.app_context():
        clinic = factories.institution()
        db.session.commit()
        code = clinic.code
    clients = [live_app.test_client() for _ in range(2)]
    forms = [
        valid_form(client, institution_code=code, username="race.user", email=f"r{i}@example.org")
        for i, client in enumerate(clients)
    ]
    posts = [partial(c.post, "/register", data=f) for c, f in zip(clients, forms, strict=True)]
    responses = at_once(*posts)

    codes = sorted(response.status_code for response in responses)
    assert codes == [303, 409]
    loser = next(r for r in responses if r.status_code == 409)
    assert "已有人使用" in text_of(loser.get_data(as_text=True), "username-error")
    with live_app.app_context():
        count = db.session.scalar(
            select(func.count()).select_from(Account).where(Account.username_key == "race.user")
        )
    assert count == 1
    # The loser's receipt, if it got as far as queueing one, was rolled back with it.
    winner = next(f for f, r in zip(forms, responses, strict=True) if r.status_code == 303)
    assert [mail["To"] for mail in smtp_sink.wait_for(1)] == [winner["email"]]


def test_a_double_click_makes_one_application_and_one_mail(live_app, smtp_sink):
    with live_app.app_context():
        code = factories.institution().code
        db.session.commit()
    # One browser: both posts carry the same cookie and the same form, as a double click does.
    clients = [live_app.test_client() for _ in range(2)]
    form = valid_form(clients[0], institution_code=code, username="double.click")
    clients[1].set_cookie("portal_session", clients[0].get_cookie("portal_session").value)
    responses = at_once(*(partial(client.post, "/register", data=form) for client in clients))

    assert [response.status_code for response in responses] == [303, 303]
    with live_app.app_context():
        applications = db.session.scalar(select(func.count()).select_from(Application))
    assert applications == 1
    assert len(smtp_sink.messages) == 1


def test_two_tabs_answering_the_card_check_at_once_open_the_account_once(
    live_app, smtp_sink, tmp_path
):
    root = make_authority("測試醫事憑證根憑證")
    (tmp_path / "root.pem").write_bytes(root.certificate.public_bytes(serialization.Encoding.PEM))
    live_app.config["CARD_TRUST_ANCHORS_DIR"] = str(tmp_path)
    with live_app.app_context():
        clinic = factories.institution(code=INSTITUTION_CODE)
        manager = factories.account(institution=clinic, role=Role.MANAGER, national_id="B123456780")
        application = factories.application(manager)
        db.session.commit()
        applied = SimpleNamespace(id=application.id, application_no=application.application_no)
    clients = [live_app.test_client() for _ in range(2)]
    pages = [open_card_page(client, applied) for client in clients]
    # The second page was handed the first one's unused challenge; give it one of its own,
    # as a page opened earlier would have, so the two answers race for the application.
    with live_app.app_context():
        nonce = new_nonce()
        second = CardChallenge(
            application_id=applied.id, nonce=nonce, expires_at=utcnow() + timedelta(minutes=5)
        )
        db.session.add(second)
        db.session.commit()
        pages[1] = (pages[1][0], encoded_challenge(CLIENT_ORIGIN, nonce), str(second.id))
    card = issue_card(root)
    answers = [
        partial(answer, client, html, challenge_id, card, sign(card, challenge))
        for client, (html, challenge, challenge_id) in zip(clients, pages, strict=True)
    ]
    responses = at_once(*answers)

    assert sorted(response.status_code for response in responses) == [303, 422]
    loser = next(r for r in responses if r.status_code == 422)
    assert "不需要機構卡驗證" in text_of(loser.get_data(as_text=True), "verification-error")
    with live_app.app_context():
        decided = db.session.get(Application, applied.id)
        assert decided.state is ApplicationState.APPROVED and decided.verified_by == "card"
        assert decided.account.state is AccountState.ACTIVE
        actions = db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.subject_id == decided.application_no)
            .where(AuditEvent.action.like("verification.card_%"))
        ).all()
    assert sorted(actions) == ["verification.card_failed", "verification.card_succeeded"]
    assert len(smtp_sink.wait_for(1)) == 1
