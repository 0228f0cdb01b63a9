"""Health bureaus verify with their 政府單位憑證卡 (GCA), as configured card kinds allow."""

import pytest
from cryptography.hazmat.primitives import serialization

from portal.accounts.models import Role
from portal.registration.models import ApplicationState
from tests import factories
from tests.cards.pki import (
    HEALTH_BUREAU_CODE,
    INSTITUTION_CODE,
    OTHER_HEALTH_BUREAU_CODE,
    crl_der,
    gca_card_options,
    issue_card,
    issue_crl,
    make_gca_authority,
)
from tests.functional.helpers import text_of
from tests.functional.test_card_verification import answer, open_card_page, sign


@pytest.fixture(scope="module")
def gca():
    return make_gca_authority()


@pytest.fixture
def gca_anchors(app, gca, tmp_path):
    """CARD_GCA_TRUST_ANCHORS_DIR holding the test GCA."""
    folder = tmp_path / "gca"
    folder.mkdir()
    (folder / "gca.pem").write_bytes(gca.certificate.public_bytes(serialization.Encoding.PEM))
    saved = app.config["CARD_GCA_TRUST_ANCHORS_DIR"]
    app.config["CARD_GCA_TRUST_ANCHORS_DIR"] = str(folder)
    yield folder
    app.config["CARD_GCA_TRUST_ANCHORS_DIR"] = saved


def manager_application(code: str, kind: str):
    place = factories.institution(code=code, name=f"測試{kind}{code}", kind=kind)
    manager = factories.account(
        institution=place, role=Role.MANAGER, national_id="B123456780", email="m@example.org"
    )
    return factories.application(manager)


def test_a_health_bureau_verifies_with_its_agency_card(client, db_session, gca, gca_anchors):
    application = manager_application(HEALTH_BUREAU_CODE, "衛生局")
    card = issue_card(gca, gca_card_options())
    html, challenge, challenge_id = open_card_page(client, application)
    response = answer(client, html, challenge_id, card, sign(card, challenge))
    assert response.status_code == 303 and response.headers["Location"] == "/verification/done"
    db_session.expire_all()
    assert application.state is ApplicationState.APPROVED and application.verified_by == "card"


@pytest.mark.parametrize(
    ("code", "kind", "card_code", "message"),
    [
        (OTHER_HEALTH_BUREAU_CODE, "衛生局", HEALTH_BUREAU_CODE, "與申請的機構代碼"),
        (INSTITUTION_CODE, "診所", INSTITUTION_CODE, "政府單位憑證卡只能驗證衛生局的申請"),
    ],
)
def test_an_agency_card_verifies_no_one_else(
    client, db_session, gca, gca_anchors, code, kind, card_code, message
):
    application = manager_application(code, kind)
    card = issue_card(gca, gca_card_options(card_code))
    html, challenge, challenge_id = open_card_page(client, application)
    response = answer(client, html, challenge_id, card, sign(card, challenge))
    assert response.status_code == 422
    assert message in text_of(response.get_data(as_text=True), "verification-error")
    db_session.expire_all()
    assert application.state is ApplicationState.AWAITING_VERIFICATION


def test_without_gca_anchors_an_agency_card_is_untrusted(client, db_session, gca):
    application = manager_application(HEALTH_BUREAU_CODE, "衛生局")
    card = issue_card(gca, gca_card_options())
    html, challenge, challenge_id = open_card_page(client, application)
    response = answer(client, html, challenge_id, card, sign(card, challenge))
    assert response.status_code == 422
    assert "不是由信任的憑證機構" in text_of(response.get_data(as_text=True), "verification-error")


def test_a_revoked_agency_card_is_refused_in_its_own_words(
    app, client, db_session, gca, gca_anchors, tmp_path
):
    application = manager_application(HEALTH_BUREAU_CODE, "衛生局")
    card = issue_card(gca, gca_card_options())
    crls = tmp_path / "crls"
    crls.mkdir()
    (crls / "gca.crl").write_bytes(crl_der(issue_crl(gca, [card])))
    saved = {key: app.config[key] for key in ("CARD_CRL_DIR", "CARD_CRL_REQUIRED")}
    app.config.update(CARD_CRL_DIR=str(crls), CARD_CRL_REQUIRED=True)
    try:
        html, challenge, challenge_id = open_card_page(client, application)
        response = answer(client, html, challenge_id, card, sign(card, challenge))
    finally:
        app.config.update(saved)
    assert response.status_code == 422
    assert "憑證已被廢止" in text_of(response.get_data(as_text=True), "verification-error")
    db_session.expire_all()
    assert application.state is ApplicationState.AWAITING_VERIFICATION
