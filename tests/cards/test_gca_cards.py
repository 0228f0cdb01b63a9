"""Health bureaus' 政府單位憑證卡 end to end, on the real PC/SC stack and in SoftHSM2: the
helper signs with a GCA-issued card, and the portal accepts it for its own bureau only.
Also what the helper 1.1 adds: `state` in status, `wrong_card`, `--version`."""

from __future__ import annotations

import base64
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from card_helper import __version__
from portal.verification import CardVerificationError, verify_card_signature
from portal.verification.card_kinds import DEFAULT_CARD_KINDS, GCA_AGENCY, card_kinds
from tests.cards.helper_client import portal_challenge, request, sign_body
from tests.cards.pki import (
    HEALTH_BUREAU_CODE,
    OTHER_HEALTH_BUREAU_CODE,
    gca_card_options,
    issue_card,
    make_gca_authority,
)
from tests.cards.stack import (
    CARD_PIN,
    PORTAL_ORIGIN,
    ROOT,
    helper_process,
    init_softhsm_token,
    softhsm_config,
)


@pytest.fixture(scope="module")
def gca():
    return make_gca_authority()


@pytest.fixture(scope="module")
def gca_card(gca):
    return issue_card(gca, gca_card_options())


@pytest.fixture
def kinds(trust_anchors, gca):
    anchors = {
        "CARD_TRUST_ANCHORS_DIR": trust_anchors,
        "CARD_GCA_TRUST_ANCHORS_DIR": [gca.certificate],
    }
    return card_kinds(DEFAULT_CARD_KINDS, anchors.__getitem__)


def judge(body: dict, challenge: bytes, kinds, code: str, institution_kind: str = "衛生局"):
    return verify_card_signature(
        base64.b64decode(body["certificate"]),
        base64.b64decode(body["signature"]),
        challenge,
        card_kinds=kinds,
        expected_institution_code=code,
        institution_kind=institution_kind,
        now=datetime.now(UTC),
    )


def test_a_gca_card_on_pcsc_verifies_its_own_bureau_only(
    helper_server, insert_card, gca_card, kinds
):
    insert_card(gca_card)
    challenge = portal_challenge()
    status, _, body = request(
        helper_server().url, "POST", "/v1/sign", body=sign_body(CARD_PIN, challenge)
    )
    assert status == 200, body
    verified = judge(body, challenge, kinds, HEALTH_BUREAU_CODE)
    assert verified.card_kind == GCA_AGENCY and verified.institution_code == HEALTH_BUREAU_CODE
    with pytest.raises(CardVerificationError) as other_bureau:
        judge(body, challenge, kinds, OTHER_HEALTH_BUREAU_CODE)
    assert other_bureau.value.code == "institution_mismatch"
    with pytest.raises(CardVerificationError) as clinic:
        judge(body, challenge, kinds, HEALTH_BUREAU_CODE, "診所")
    assert clinic.value.code == "kind_not_accepted"


def test_a_gca_card_in_softhsm_verifies_through_the_pkcs11_helper(
    gca_card, kinds, tmp_path, monkeypatch
):
    # A token of its own, in its own SoftHSM2 configuration, read by a helper process.
    config = softhsm_config(tmp_path)
    monkeypatch.setenv("SOFTHSM2_CONF", str(config))
    token = init_softhsm_token(tmp_path, gca_card)
    options = ["--backend", "pkcs11", "--pkcs11-module", token.module]
    env = {"SOFTHSM2_CONF": str(config)}
    with helper_process(PORTAL_ORIGIN, tmp_path, env=env, options=options) as helper:
        challenge = portal_challenge()
        status, _, body = request(
            helper.url, "POST", "/v1/sign", body=sign_body(token.pin, challenge)
        )
    assert status == 200, body
    assert judge(body, challenge, kinds, HEALTH_BUREAU_CODE).card_kind == GCA_AGENCY


def test_status_names_its_state(helper_server, insert_card):
    helper = helper_server()
    _, _, body = request(helper.url)
    assert body["state"] == "no_card" and body["version"] == __version__
    insert_card()
    _, _, body = request(helper.url)
    assert body["state"] == "ready"


def test_another_kind_of_card_is_a_wrong_card(helper_server, insert_card):
    insert_card(foreign=True)
    status, _, body = request(helper_server().url, "POST", "/v1/sign", body=sign_body(CARD_PIN))
    assert status == 409
    assert body["error"] == "wrong_card"
    assert "不是機構卡" in body["message"]


def test_the_helper_tells_its_version():
    shown = subprocess.run(
        [sys.executable, "-m", "card_helper", "--version"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout.strip() == f"card-helper {__version__}"
