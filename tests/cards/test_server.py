"""The helper's HTTP API: origin checks, CORS, status, sign (portal challenges only), errors,
and no PIN in any log."""

from __future__ import annotations

import base64
import logging
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from card_helper.backends.pcsc import PcscBackend
from portal.verification import verify_card_signature
from tests.cards.helper_client import portal_challenge, request, sign_body
from tests.cards.pki import INSTITUTION_CODE
from tests.cards.stack import CARD_PIN, PORTAL_ORIGIN, ROOT, HelperProcess, helper_process

# A PIN unlikely to appear anywhere by chance, so finding it in a log means it leaked.
SECRET_PIN = "739182"


def test_status_answers_the_portal_origin_with_cors(helper_server):
    helper = helper_server()
    status, headers, body = request(helper.url)
    assert status == 200
    assert headers["access-control-allow-origin"] == PORTAL_ORIGIN
    assert "Origin" in headers["vary"]
    assert body["backend"] == "pcsc"
    assert body["readers"][0]["name"].startswith("Virtual PCD")
    assert body["card_present"] is False
    assert "請插入醫事機構卡" in body["message"]


def test_status_shows_an_inserted_card(helper_server, insert_card):
    insert_card()
    _, _, body = request(helper_server().url)
    assert body["card_present"] is True
    assert body["readers"][0]["card_present"] is True


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:5001", None])
def test_other_origins_are_refused(helper_server, origin):
    status, headers, body = request(helper_server().url, origin=origin)
    assert status == 403
    assert "access-control-allow-origin" not in headers
    assert body["error"] == "origin_not_allowed"


def test_a_non_loopback_host_is_refused(helper_server):
    # What a DNS-rebinding page would send: its own host name, pointing at 127.0.0.1.
    status, _, body = request(helper_server().url, headers={"Host": "evil.example:31611"})
    assert status == 403 and body["error"] == "host_not_allowed"


def test_the_preflight_allows_the_portal_and_private_network_access(helper_server):
    status, headers, _ = request(
        helper_server().url,
        "OPTIONS",
        "/v1/sign",
        headers={
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert status == 204
    assert headers["access-control-allow-origin"] == PORTAL_ORIGIN
    assert "POST" in headers["access-control-allow-methods"]
    assert "Content-Type" in headers["access-control-allow-headers"]
    assert headers["access-control-allow-private-network"] == "true"


def test_the_preflight_from_another_origin_is_refused(helper_server):
    status, headers, _ = request(
        helper_server().url, "OPTIONS", "/v1/sign", origin="https://evil.example"
    )
    assert status == 403 and "access-control-allow-private-network" not in headers


def test_sign_returns_what_the_portal_accepts(helper_server, insert_card, trust_anchors):
    insert_card()
    challenge = portal_challenge()
    status, headers, body = request(
        helper_server().url, "POST", "/v1/sign", body=sign_body(CARD_PIN, challenge)
    )
    assert status == 200, body
    assert headers["access-control-allow-origin"] == PORTAL_ORIGIN
    assert headers["cache-control"] == "no-store"
    assert body["algorithm"] == "rsa-pkcs1v15-sha256"
    verified = verify_card_signature(
        base64.b64decode(body["certificate"]),
        base64.b64decode(body["signature"]),
        challenge,
        trust_anchors=trust_anchors,
        expected_institution_code=INSTITUTION_CODE,
        now=datetime.now(UTC),
    )
    assert verified.institution_code == INSTITUTION_CODE


def test_a_wrong_pin_is_an_error_with_tries_left(helper_server, insert_card):
    insert_card()
    status, _, body = request(helper_server().url, "POST", "/v1/sign", body=sign_body("000000"))
    assert status == 422
    assert body == {
        "error": "wrong_pin",
        "tries_left": 2,
        "message": "PIN 碼錯誤，還可以再試 2 次；次數用完卡片會被鎖住。",
    }


def test_a_blocked_pin_is_an_error(helper_server, insert_card):
    insert_card()
    url = helper_server().url
    for _ in range(3):
        status, _, body = request(url, "POST", "/v1/sign", body=sign_body("000000"))
    assert status == 423 and body["error"] == "pin_blocked"


def test_no_card_is_an_error(helper_server):
    status, _, body = request(helper_server().url, "POST", "/v1/sign", body=sign_body(CARD_PIN))
    assert status == 409 and body["error"] == "no_card"
    assert "請插入機構卡" in body["message"]


def test_a_slow_card_is_a_timeout(helper_server, insert_card):
    insert_card(sign_delay=1.5)
    status, _, body = request(
        helper_server(timeout=0.5).url, "POST", "/v1/sign", body=sign_body(CARD_PIN)
    )
    assert status == 504 and body["error"] == "timeout"


@pytest.mark.parametrize(
    "body, code",
    [
        ({"challenge": "not base64!", "pin": CARD_PIN}, "bad_request"),
        ({"challenge": base64.b64encode(b"short").decode(), "pin": CARD_PIN}, "not_a_challenge"),
        ({"pin": CARD_PIN}, "bad_request"),
        (sign_body("12"), "invalid_pin"),
        (sign_body("１２３４５６"), "invalid_pin"),  # full-width digits typed by an IME
        ([1, 2], "bad_request"),
    ],
)
def test_malformed_sign_requests_are_refused(helper_server, body, code):
    status, _, answer = request(helper_server().url, "POST", "/v1/sign", body=body)
    assert status == 400 and answer["error"] == code


# What a script on the portal's page might ask the card to sign instead of a challenge.
A_PDF = (
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
)
GOOD = portal_challenge()
PREFIX = b"HPA-PORTAL-CARD-CHALLENGE-v1:"
HEADER_END = len(PREFIX) + 2 + len(PORTAL_ORIGIN)  # prefix, purpose, length, origin
NOT_CHALLENGES = {
    "32 random bytes (the old challenge)": bytes(range(32)),
    "a PDF": A_PDF,
    "a PDF behind the challenge header": GOOD[:HEADER_END] + A_PDF,
    "version 2 of the prefix": GOOD.replace(b"-v1:", b"-v2:"),
    "the prefix in lower case": GOOD.lower(),
    "the prefix without its colon": GOOD.replace(b"-v1:", b"-v1"),
    "an unknown purpose": PREFIX + b"\x02" + GOOD[len(PREFIX) + 1 :],
    "a byte too many": GOOD + b"\x00",
    "a byte too few": GOOD[:-1],
    "another origin named": portal_challenge("https://evil.example"),
    "the origin named with a path": portal_challenge(PORTAL_ORIGIN + "/x"),
}


def test_the_helper_signs_nothing_but_a_portal_challenge(helper_server, insert_card):
    insert_card()
    url = helper_server().url
    for what, data in NOT_CHALLENGES.items():
        status, headers, body = request(url, "POST", "/v1/sign", body=sign_body("000000", data))
        assert (status, body["error"]) == (400, "not_a_challenge"), what
        assert headers["access-control-allow-origin"] == PORTAL_ORIGIN  # the page may read it
        assert body["message"].startswith("讀卡程式只簽署入口網站發出的驗證碼"), what
    # Each carried a wrong PIN, yet the card saw none: the first it sees leaves two tries.
    status, _, body = request(url, "POST", "/v1/sign", body=sign_body("000000"))
    assert (status, body["error"], body["tries_left"]) == (422, "wrong_pin", 2)
    status, _, body = request(url, "POST", "/v1/sign", body=sign_body(CARD_PIN, GOOD))
    assert status == 200, body


def test_sign_needs_json(helper_server):
    status, _, answer = request(
        helper_server().url,
        "POST",
        "/v1/sign",
        body=sign_body(CARD_PIN),
        headers={"Content-Type": "text/plain"},
    )
    assert status == 400 and answer["error"] == "bad_request"


def test_unknown_paths_are_not_found(helper_server):
    status, _, body = request(helper_server().url, path="/v1/nothing")
    assert status == 404 and body["error"] == "not_found"


def test_the_pin_never_reaches_the_logs(helper_server, insert_card, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    insert_card(pin=SECRET_PIN)
    url = helper_server().url
    request(url, "POST", "/v1/sign", body=sign_body(SECRET_PIN))
    request(url, "POST", "/v1/sign", body=sign_body(SECRET_PIN[::-1]))  # a wrong one
    request(url, "POST", "/v1/sign", body={"challenge": "!", "pin": SECRET_PIN})
    captured = capfd.readouterr()
    logged = caplog.text + captured.out + captured.err
    assert "POST /v1/sign" in logged  # the access log is there...
    assert SECRET_PIN not in logged and SECRET_PIN[::-1] not in logged  # ...the PIN is not


@pytest.fixture
def helper_without_reader_service(tmp_path) -> Iterator[HelperProcess]:
    """`python -m card_helper` whose PC/SC client looks for pcscd where none runs."""
    environment = {"PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm")}
    with helper_process(PORTAL_ORIGIN, tmp_path, env=environment) as helper:
        yield helper


def test_no_reader_service_is_reported_by_the_running_helper(helper_without_reader_service):
    helper = helper_without_reader_service
    status, _, body = request(helper.url)
    assert status == 503 and body["error"] == "no_reader_service"
    status, _, body = request(helper.url, "POST", "/v1/sign", body=sign_body(SECRET_PIN))
    assert status == 503 and body["error"] == "no_reader_service"
    assert "讀卡機服務沒有啟動" in body["message"]
    helper.process.terminate()
    helper.process.wait(timeout=10)
    errors = helper.log.read_text()
    assert "POST /v1/sign" in errors and SECRET_PIN not in errors


def test_the_command_line_requires_an_origin():
    result = subprocess.run(
        [sys.executable, "-m", "card_helper"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2 and "--origin" in result.stderr


def test_no_reader_is_reported_by_status_and_by_sign(helper_server, insert_card):
    # pcscd runs and has vpcd's reader with a card in it, but the helper was told to use
    # only a reader that is not attached (`--reader`): to it, there is no reader at all.
    insert_card()
    helper = helper_server(backend=PcscBackend(reader_filter="No such reader"))
    status, _, body = request(helper.url)
    assert status == 200 and body["readers"] == [] and not body["card_present"]
    assert body["message"] == "找不到讀卡機，請確認讀卡機已接上電腦。"
    status, _, body = request(helper.url, "POST", "/v1/sign", body=sign_body(CARD_PIN))
    assert status == 409 and body["error"] == "no_reader"
    assert body["message"] == "找不到讀卡機，請確認讀卡機已接上電腦。"
