"""`flask refresh-card-crls`: the CAs' CRLs downloaded into CARD_CRL_DIR, and the card check
that then uses them. The CA's web server is a real HTTP server on 127.0.0.1.
"""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from portal.accounts.models import Role
from tests import factories
from tests.cards.pki import (
    INSTITUTION_CODE,
    crl_der,
    gca_card_options,
    issue_card,
    issue_crl,
    make_gca_authority,
    rsa_key,
)
from tests.functional.helpers import text_of
from tests.functional.test_card_verification import answer, open_card_page, sign

FETCH_TIMEOUT = 1


@dataclass
class CaWebServer:
    """What the CA's web server hands out, by path; `stalled` paths never answer in time."""

    files: dict[str, bytes] = field(default_factory=dict)
    stalled: set[str] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)
    base_url: str = ""

    def url(self, path: str) -> str:
        """The address of `path` on this server."""
        return f"{self.base_url}{path}"


@pytest.fixture
def ca_web() -> Iterator[CaWebServer]:
    """An HTTP server on 127.0.0.1 standing in for the CA's CRL repository."""
    site = CaWebServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path in site.stalled:
                site.release.wait(FETCH_TIMEOUT * 5)
            body = site.files.get(self.path)
            if body is None:
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/pkix-crl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    yield site
    site.release.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def ca(issuing_ca):
    """The CA whose cards and CRLs these tests use (the suite's issuing CA)."""
    return issuing_ca


@pytest.fixture
def card_config(app, tmp_path, ca) -> Iterator[Path]:
    """Anchors with the CA, an empty CRL directory (returned), a current CRL required."""
    anchors, crls = tmp_path / "anchors", tmp_path / "crls"
    anchors.mkdir()
    pem = ca.certificate.public_bytes(serialization.Encoding.PEM)
    (anchors / "ca.pem").write_bytes(pem)
    keys = ("CARD_TRUST_ANCHORS_DIR", "CARD_CRL_DIR", "CARD_CRL_REQUIRED", "CARD_CRL_URLS")
    saved = {key: app.config[key] for key in keys + ("CARD_CRL_FETCH_TIMEOUT",)}
    app.config.update(
        CARD_TRUST_ANCHORS_DIR=str(anchors),
        CARD_CRL_DIR=str(crls),
        CARD_CRL_REQUIRED=True,
        CARD_CRL_URLS="",
        CARD_CRL_FETCH_TIMEOUT=FETCH_TIMEOUT,
    )
    yield crls
    app.config.update(saved)


def refresh(app, *urls: str):
    return app.test_cli_runner().invoke(args=["refresh-card-crls", *urls])


def installed(crls: Path) -> list[bytes]:
    return [path.read_bytes() for path in sorted(crls.glob("*.crl"))]


def test_the_cas_crl_is_downloaded_and_a_revoked_card_then_refused(
    app, client, db_session, ca_web, card_config, ca
):
    revoked = issue_card(ca)
    ca_web.files["/repository/crl/complete.crl"] = crl_der(issue_crl(ca, [revoked]))
    app.config["CARD_CRL_URLS"] = ca_web.url("/repository/crl/complete.crl")
    result = refresh(app)
    assert result.exit_code == 0, result.output
    assert f"已更新 {ca_web.url('/repository/crl/complete.crl')} -> 127.0.0.1-complete-" in (
        result.stdout
    )
    assert "廢止 1 張" in result.stdout

    clinic = factories.institution(code=INSTITUTION_CODE)
    manager = factories.account(institution=clinic, role=Role.MANAGER, national_id="B123456780")
    application = factories.application(manager)
    html, challenge, challenge_id = open_card_page(client, application)
    response = answer(client, html, challenge_id, revoked, sign(revoked, challenge))
    assert response.status_code == 422
    assert "這張機構卡的憑證已被廢止，無法驗證。" in text_of(
        response.get_data(as_text=True), "verification-error"
    )


def test_a_crl_with_a_bad_signature_is_not_installed(app, ca_web, card_config, ca):
    url = ca_web.url("/crl/ca.crl")
    ca_web.files["/crl/ca.crl"] = crl_der(issue_crl(ca, this_update=timedelta(hours=-2)))
    assert refresh(app, url).exit_code == 0
    before = installed(card_config)
    # Newer, and listing a card, but signed with another key: the CA's CRL stays.
    forged = issue_crl(ca, [issue_card(ca)], signing_key=rsa_key("forger"))
    ca_web.files["/crl/ca.crl"] = crl_der(forged)
    result = refresh(app, url)
    assert result.exit_code == 1
    assert "未更新" in result.stdout and "簽章不符任何信任的憑證機構" in result.stderr
    assert installed(card_config) == before


def test_an_older_crl_does_not_replace_a_newer_one(app, ca_web, card_config, ca):
    url = ca_web.url("/crl/ca.crl")
    ca_web.files["/crl/ca.crl"] = crl_der(issue_crl(ca, this_update=timedelta(minutes=-5)))
    assert refresh(app, url).exit_code == 0
    before = installed(card_config)
    # An authentic but older list (replayed by someone on the way): ignored.
    ca_web.files["/crl/ca.crl"] = crl_der(issue_crl(ca, this_update=timedelta(days=-1)))
    result = refresh(app, url)
    assert result.exit_code == 1 and "比已安裝的廢止清冊舊" in result.stderr
    assert installed(card_config) == before


def test_an_out_of_date_crl_is_installed_and_reported(app, ca_web, card_config, ca):
    stale = issue_crl(ca, this_update=timedelta(days=-3), next_update=timedelta(days=-1))
    ca_web.files["/crl/ca.crl"] = crl_der(stale)
    result = refresh(app, ca_web.url("/crl/ca.crl"))
    assert result.exit_code == 1 and "已過期" in result.stderr
    assert installed(card_config) == [crl_der(stale)]


def test_a_server_that_does_not_answer_in_time_is_reported(app, ca_web, card_config, ca):
    ca_web.files["/crl/slow.crl"] = crl_der(issue_crl(ca))
    ca_web.stalled.add("/crl/slow.crl")
    ca_web.files["/crl/ca.crl"] = crl_der(issue_crl(ca))
    started = time.monotonic()
    result = refresh(app, ca_web.url("/crl/slow.crl"), ca_web.url("/crl/ca.crl"))
    assert time.monotonic() - started < FETCH_TIMEOUT * 3
    assert result.exit_code == 1 and "下載或讀取失敗" in result.stderr
    # The other URL is still refreshed.
    assert f"已更新 {ca_web.url('/crl/ca.crl')}" in result.stdout
    assert len(installed(card_config)) == 1


def test_a_missing_crl_is_reported(app, ca_web, card_config):
    result = refresh(app, ca_web.url("/crl/gone.crl"))
    assert result.exit_code == 1
    assert "下載或讀取失敗" in result.stderr and "404" in result.stderr
    assert "目錄中沒有這份廢止清冊" in result.stdout


def test_without_urls_the_command_says_what_to_set(app, card_config):
    result = refresh(app)
    assert result.exit_code != 0 and "CARD_CRL_URLS" in result.output


def test_the_gca_crl_is_installed_too(app, ca_web, card_config, tmp_path):
    # The agency-card kind's anchors vouch for GCA's list; HCA's anchors alone would not.
    gca = make_gca_authority()
    gca_anchors = tmp_path / "gca-anchors"
    gca_anchors.mkdir()
    (gca_anchors / "gca.pem").write_bytes(gca.certificate.public_bytes(serialization.Encoding.PEM))
    saved = app.config["CARD_GCA_TRUST_ANCHORS_DIR"]
    app.config["CARD_GCA_TRUST_ANCHORS_DIR"] = str(gca_anchors)
    ca_web.files["/gca.crl"] = crl_der(issue_crl(gca, [issue_card(gca, gca_card_options())]))
    try:
        result = refresh(app, ca_web.url("/gca.crl"))
    finally:
        app.config["CARD_GCA_TRUST_ANCHORS_DIR"] = saved
    assert result.exit_code == 0, result.output
    assert installed(card_config) == [ca_web.files["/gca.crl"]]
