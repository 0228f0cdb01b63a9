"""The portal's side of 醫事機構卡驗證: challenge, certificate checks, replay, freshness.

The card's part is played here by signing with the card key directly (the helper and the
virtual card are exercised end to end in tests/cards and tests/browser).
"""

import base64
import re
from datetime import timedelta

import pytest
import time_machine
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from sqlalchemy import select

from portal.accounts.models import AccountState, Role
from portal.audit.models import AuditEvent
from portal.db_types import utcnow
from portal.registration.models import ApplicationState
from tests import factories
from tests.cards.pki import (
    INSTITUTION_CODE,
    OTHER_INSTITUTION_CODE,
    CardOptions,
    crl_der,
    issue_card,
    issue_crl,
    make_authority,
)
from tests.functional.helpers import csrf_token, text_of

# Where the test client reaches the portal: the origin the card page's challenges name.
CLIENT_ORIGIN = "http://localhost"


@pytest.fixture(scope="module")
def root():
    return make_authority("測試醫事憑證根憑證")


@pytest.fixture
def anchors(app, root, tmp_path):
    (tmp_path / "root.pem").write_bytes(root.certificate.public_bytes(serialization.Encoding.PEM))
    saved = app.config["CARD_TRUST_ANCHORS_DIR"]
    app.config["CARD_TRUST_ANCHORS_DIR"] = str(tmp_path)
    yield tmp_path
    app.config["CARD_TRUST_ANCHORS_DIR"] = saved


@pytest.fixture
def crl_dir(app, tmp_path):
    """An empty CRL directory, with a current CRL required as in production."""
    folder = tmp_path / "crls"
    folder.mkdir()
    saved = {key: app.config[key] for key in ("CARD_CRL_DIR", "CARD_CRL_REQUIRED")}
    app.config.update(CARD_CRL_DIR=str(folder), CARD_CRL_REQUIRED=True)
    yield folder
    app.config.update(saved)


@pytest.fixture
def application(db_session, anchors):
    clinic = factories.institution(code=INSTITUTION_CODE, name="臺北虛擬診所")
    manager = factories.account(
        institution=clinic, role=Role.MANAGER, national_id="B123456780", email="m@example.org"
    )
    return factories.application(manager)


def open_card_page(client, application):
    """Find the application on the progress page (proving the ID), then open the card page."""
    page = client.get("/applications/status").get_data(as_text=True)
    client.post(
        "/applications/status",
        data={
            "csrf_token": csrf_token(page),
            "application_no": application.application_no,
            "national_id": "B123456780",
        },
    )
    html = client.get("/verification").get_data(as_text=True)
    challenge = re.search(r'data-challenge="([^"]+)"', html).group(1)
    challenge_id = re.search(r'name="challenge_id" value="(\d+)"', html).group(1)
    return html, challenge, challenge_id


def answer(client, html, challenge_id, card, signature):
    return client.post(
        "/verification/card",
        data={
            "csrf_token": csrf_token(html),
            "challenge_id": challenge_id,
            "certificate": base64.b64encode(card.certificate_der).decode(),
            "signature": base64.b64encode(signature).decode(),
        },
    )


def sign(card, challenge: str) -> bytes:
    return card.key.sign(base64.b64decode(challenge), padding.PKCS1v15(), hashes.SHA256())


def test_valid_card_opens_the_account_at_once(client, application, root, db_session, smtp_sink):
    card = issue_card(root)
    html, challenge, challenge_id = open_card_page(client, application)
    assert 'data-helper-url="http://127.0.0.1:31611"' in html
    assert "127.0.0.1:31611" in client.get("/verification").headers["Content-Security-Policy"]
    response = answer(client, html, challenge_id, card, sign(card, challenge))
    assert response.status_code == 303 and response.headers["Location"] == "/verification/done"
    db_session.expire_all()
    assert application.state is ApplicationState.APPROVED and application.verified_by == "card"
    assert application.account.state is AccountState.ACTIVE
    assert "已啟用" in smtp_sink.wait_for(1)[0]["Subject"]
    event = db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "verification.card_succeeded")
    )
    assert event.detail["certificate_serial"]


@pytest.mark.parametrize(
    ("options", "issuer", "message"),
    [
        (CardOptions(institution_code=OTHER_INSTITUTION_CODE), "root", "與申請的機構代碼"),
        (
            CardOptions(not_after=timedelta(days=-1), not_before=timedelta(days=-30)),
            "root",
            "已過期",
        ),
        (CardOptions(policies=()), "root", "不是醫事機構卡"),
        (CardOptions(digital_signature=False), "root", "不能用來簽章"),
        (CardOptions(), "stranger", "不是由信任的憑證機構"),
    ],
)
def test_bad_cards_are_refused_in_plain_words(
    client, application, root, db_session, options, issuer, message
):
    authority = root if issuer == "root" else make_authority("不明憑證中心")
    card = issue_card(authority, options)
    html, challenge, challenge_id = open_card_page(client, application)
    response = answer(client, html, challenge_id, card, sign(card, challenge))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in text_of(page, "verification-error")
    assert "改用紙本審核" in text_of(page, "verification-error")
    db_session.expire_all()
    assert application.state is ApplicationState.AWAITING_VERIFICATION


def test_the_page_hands_the_helper_a_portal_challenge_for_its_origin(
    client, application, db_session
):
    from card_helper.challenge import check_challenge
    from portal.verification.models import CardChallenge

    _html, challenge, challenge_id = open_card_page(client, application)
    data = base64.b64decode(challenge)
    check_challenge(data, CLIENT_ORIGIN)  # what the helper will agree to sign
    stored = db_session.get(CardChallenge, int(challenge_id))
    assert data.startswith(b"HPA-PORTAL-CARD-CHALLENGE-v1:\x01\x10http://localhost")
    assert data.endswith(base64.b64decode(stored.nonce))


def test_a_signature_over_the_bare_nonce_is_refused(client, application, root, db_session):
    # What a card signed before challenges had their format: the random part alone.
    from portal.verification.models import CardChallenge

    card = issue_card(root)
    html, _challenge, challenge_id = open_card_page(client, application)
    nonce = db_session.get(CardChallenge, int(challenge_id)).nonce
    response = answer(client, html, challenge_id, card, sign(card, nonce))
    assert "簽章驗證失敗" in text_of(response.get_data(as_text=True), "verification-error")


def test_tampered_signature_is_refused(client, application, root):
    card = issue_card(root)
    html, challenge, challenge_id = open_card_page(client, application)
    signature = bytearray(sign(card, challenge))
    signature[10] ^= 0xFF
    response = answer(client, html, challenge_id, card, bytes(signature))
    assert "簽章驗證失敗" in text_of(response.get_data(as_text=True), "verification-error")


def test_a_challenge_is_answered_once(client, application, root, db_session):
    card = issue_card(root, CardOptions(institution_code=OTHER_INSTITUTION_CODE))
    html, challenge, challenge_id = open_card_page(client, application)
    answer(client, html, challenge_id, card, sign(card, challenge))
    good = issue_card(root)
    replay = answer(client, html, challenge_id, good, sign(good, challenge))
    assert "已經使用過" in text_of(replay.get_data(as_text=True), "verification-error")
    db_session.expire_all()
    assert application.state is ApplicationState.AWAITING_VERIFICATION
    # Both refusals are in the trail: the wrong institution, then the replay.
    reasons = db_session.scalars(
        select(AuditEvent.detail)
        .where(
            AuditEvent.subject_id == application.application_no,
            AuditEvent.action == "verification.card_failed",
        )
        .order_by(AuditEvent.id)
    ).all()
    assert [reason["reason"] for reason in reasons] == ["institution_mismatch", "challenge_used"]


def test_a_second_tab_cannot_approve_twice(client, application, root, db_session):
    card = issue_card(root)
    first_html, first, first_id = open_card_page(client, application)
    second_html, second, second_id = open_card_page(client, application)
    assert answer(client, first_html, first_id, card, sign(card, first)).status_code == 303
    late = answer(client, second_html, second_id, card, sign(card, second))
    assert late.status_code == 422
    successes = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "verification.card_succeeded")
    ).all()
    assert len(successes) == 1


def test_a_challenge_expires_after_five_minutes(client, application, root):
    card = issue_card(root)
    with time_machine.travel(utcnow(), tick=False) as clock:
        html, challenge, challenge_id = open_card_page(client, application)
        clock.shift(timedelta(minutes=5, seconds=1))
        response = answer(client, html, challenge_id, card, sign(card, challenge))
    assert "超過 5 分鐘" in text_of(response.get_data(as_text=True), "verification-error")


def test_a_challenge_of_another_application_is_refused(client, application, root, db_session):
    other = factories.application(factories.account(role=Role.MANAGER))
    from portal.verification.services import issue_challenge

    foreign = issue_challenge(other, CLIENT_ORIGIN)
    card = issue_card(root)
    html, _challenge, _id = open_card_page(client, application)
    response = answer(client, html, str(foreign.id), card, sign(card, foreign.encoded))
    assert "驗證碼不存在" in text_of(response.get_data(as_text=True), "verification-error")


def test_garbage_from_the_helper_gets_a_message(client, application):
    html, _challenge, challenge_id = open_card_page(client, application)
    response = client.post(
        "/verification/card",
        data={
            "csrf_token": csrf_token(html),
            "challenge_id": challenge_id,
            "certificate": "not base64!",
            "signature": "",
        },
    )
    assert response.status_code == 422
    assert "不完整" in text_of(response.get_data(as_text=True), "verification-error")


def test_verification_page_needs_the_application_proven(client, db_session):
    assert client.get("/verification").headers["Location"] == "/applications/status"


def test_reloading_the_page_shows_the_same_challenge_until_it_is_used_or_nearly_expired(
    client, application, root, db_session
):
    from portal.verification.models import CardChallenge

    card = issue_card(root, CardOptions(institution_code=OTHER_INSTITUTION_CODE))
    with time_machine.travel(utcnow(), tick=False) as clock:
        html, challenge, challenge_id = open_card_page(client, application)
        assert open_card_page(client, application)[1:] == (challenge, challenge_id)
        # Refused (another institution's card): the challenge is used, the page has a new one.
        refused = answer(client, html, challenge_id, card, sign(card, challenge))
        after_refusal = re.search(r'data-challenge="([^"]+)"', refused.get_data(as_text=True))
        assert after_refusal.group(1) != challenge
        # Under two minutes left is too little to type the PIN: a new one again.
        clock.shift(timedelta(minutes=3, seconds=30))
        assert open_card_page(client, application)[1] != after_refusal.group(1)
    rows = db_session.scalars(
        select(CardChallenge).where(CardChallenge.application_id == application.id)
    ).all()
    assert len(rows) == 3


def test_the_page_checks_the_pin_lengths_the_helper_accepts(client, application):
    from card_helper.backends.base import PIN_MAX_LENGTH, PIN_MIN_LENGTH

    html, _challenge, _id = open_card_page(client, application)
    assert f'data-pin-min="{PIN_MIN_LENGTH}" data-pin-max="{PIN_MAX_LENGTH}"' in html
    assert f'maxlength="{PIN_MAX_LENGTH}"' in html


def test_a_refusal_is_in_the_page_language(client, application, root):
    client.get("/language/en?next=/register")
    card = issue_card(root, CardOptions(institution_code=OTHER_INSTITUTION_CODE))
    html, challenge, challenge_id = open_card_page(client, application)
    response = answer(client, html, challenge_id, card, sign(card, challenge))
    error = text_of(response.get_data(as_text=True), "verification-error")
    assert (
        f"This institution card belongs to institution code {OTHER_INSTITUTION_CODE}, "
        f"not to the institution code applied for, {INSTITUTION_CODE}." in error
    )
    assert "機構代碼" not in error


def card_failures(db_session, application) -> list[str]:
    return [
        detail["reason"]
        for detail in db_session.scalars(
            select(AuditEvent.detail)
            .where(
                AuditEvent.subject_id == application.application_no,
                AuditEvent.action == "verification.card_failed",
            )
            .order_by(AuditEvent.id)
        )
    ]


def test_a_revoked_card_is_refused_and_a_good_one_opens_the_account(
    client, application, root, crl_dir, db_session
):
    revoked, good = issue_card(root), issue_card(root)
    (crl_dir / "root.crl").write_bytes(crl_der(issue_crl(root, [revoked])))
    html, challenge, challenge_id = open_card_page(client, application)
    response = answer(client, html, challenge_id, revoked, sign(revoked, challenge))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert text_of(page, "verification-error").startswith(
        "這張機構卡的憑證已被廢止，無法驗證。請向醫事憑證管理中心確認，或改用紙本審核。"
    )
    db_session.expire_all()
    assert application.state is ApplicationState.AWAITING_VERIFICATION
    assert card_failures(db_session, application) == ["revoked"]

    challenge = re.search(r'data-challenge="([^"]+)"', page).group(1)
    challenge_id = re.search(r'name="challenge_id" value="(\d+)"', page).group(1)
    response = answer(client, page, challenge_id, good, sign(good, challenge))
    assert response.status_code == 303
    event = db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "verification.card_succeeded")
    )
    assert event.detail["revocation"] == "good"


def test_without_a_current_crl_the_card_is_refused(client, application, root, crl_dir, db_session):
    stale = issue_crl(root, this_update=timedelta(days=-3), next_update=timedelta(days=-1))
    (crl_dir / "root.crl").write_bytes(crl_der(stale))
    card = issue_card(root)
    html, challenge, challenge_id = open_card_page(client, application)
    response = answer(client, html, challenge_id, card, sign(card, challenge))
    assert response.status_code == 422
    assert "目前無法確認這張機構卡的憑證是否已被廢止" in text_of(
        response.get_data(as_text=True), "verification-error"
    )
    assert card_failures(db_session, application) == ["revocation_unknown"]


def test_a_card_accepted_without_a_crl_is_marked_unchecked(client, application, root, db_session):
    # CARD_CRL_REQUIRED off (as in development) and no CRL: accepted, and the audit says so.
    card = issue_card(root)
    html, challenge, challenge_id = open_card_page(client, application)
    assert answer(client, html, challenge_id, card, sign(card, challenge)).status_code == 303
    event = db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "verification.card_succeeded")
    )
    assert event.detail["revocation"] == "unknown"
