"""A live portal and the demo relying party beside it, on loopback, for end-to-end tests.

The portal's issuer must be the address the relying party reaches it at, and the relying
party's addresses are registered with the portal, so both servers are bound to free ports
first and given their apps after.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

from demo_rp import create_app as create_rp
from portal.accounts.models import AccountState
from portal.audit.services import Origin
from portal.extensions import db
from portal.oidc import clients
from tests import factories
from tests.conftest import make_app, serving

CLIENT_ID = "cessation-demo"


@dataclass
class Sso:
    """The two servers' addresses, the portal app, and a person who may use 戒菸服務系統."""

    portal_url: str
    rp_url: str
    portal: Flask
    username: str
    account_id: int


def _placeholder(environ, start_response):
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting"]


@contextmanager
def sso_stack(database_url: str, smtp_port: int, tmp_path: Path) -> Iterator[Sso]:
    """Serve the portal (with its worker) and the demo relying party until the block ends."""
    portal_server = make_server("127.0.0.1", 0, _placeholder, threaded=True)
    rp_server = make_server("127.0.0.1", 0, _placeholder, threaded=True)
    portal_url = f"http://127.0.0.1:{portal_server.server_port}"
    rp_url = f"http://127.0.0.1:{rp_server.server_port}"
    portal = make_app(database_url, MAIL_PORT=smtp_port, EXTERNAL_BASE_URL=portal_url)
    portal_server.app = portal
    with portal.app_context():
        _client, secret = clients.register_client(
            clients.ClientDetails(
                client_id=CLIENT_ID,
                name="戒菸服務系統（示範）",
                subsystem_code="cessation",
                redirect_uris=(f"{rp_url}/callback",),
                post_logout_redirect_uris=(f"{rp_url}/signed-out",),
                backchannel_logout_uri=f"{rp_url}/backchannel-logout",
                initiate_login_uri=f"{rp_url}/login",
            ),
            Origin(remote_addr="test"),
        )
        account = factories.account(state=AccountState.ACTIVE, name="林小美")
        from tests.functional.oidc_helpers import grant

        grant(account, "cessation")
        db.session.commit()
        username, account_id = account.username, account.id
    rp_server.app = create_rp(
        {
            "PORTAL_ISSUER": portal_url,
            "RP_BASE_URL": rp_url,
            "RP_CLIENT_SECRET": secret,
            "RP_STORE": str(tmp_path / "demo_rp.sqlite"),
            "SECRET_KEY": "rp-test-key",
        }
    )
    rp_thread = threading.Thread(target=rp_server.serve_forever, daemon=True)
    rp_thread.start()
    try:
        with serving(portal_server):
            yield Sso(portal_url, rp_url, portal, username, account_id)
    finally:
        rp_server.shutdown()
        rp_thread.join(timeout=5)
        rp_server.server_close()
        with portal.app_context():
            db.engine.dispose()
