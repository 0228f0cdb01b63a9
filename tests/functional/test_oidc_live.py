"""The demo relying party (Authlib's Flask client) against a live portal, over loopback HTTP.

A `requests` session plays the browser: it follows the redirects between the two servers
and keeps each one's cookie.
"""

import time
from collections.abc import Iterator

import pytest
import requests

from portal.audit.services import Origin
from portal.extensions import db
from portal.subsystems.models import RequestState
from tests import factories
from tests.functional.helpers import csrf_token
from tests.oidc_stack import Sso, sso_stack


@pytest.fixture
def sso(fresh_database, smtp_sink, tmp_path) -> Iterator[Sso]:
    """A live portal and the demo relying party registered with it."""
    with sso_stack(fresh_database, smtp_sink.port, tmp_path) as stack:
        yield stack


def _sign_in_through_rp(browser: requests.Session, sso: Sso, username: str) -> requests.Response:
    """Open the relying party's sign-in, sign in at the portal, land back at the RP."""
    at_portal = browser.get(f"{sso.rp_url}/login", timeout=10)
    assert at_portal.url.startswith(f"{sso.portal_url}/login?next="), at_portal.url
    return browser.post(
        f"{sso.portal_url}/login",
        data={
            "csrf_token": csrf_token(at_portal.text),
            "username": username,
            "password": factories.STRONG_PASSWORD,
            "next": _next_of(at_portal.url),
        },
        timeout=10,
    )


def _next_of(url: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(url).query)["next"][0]


def _wait_until(check, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def test_sign_in_open_from_my_subsystems_and_rp_initiated_logout(sso: Sso):
    browser = requests.Session()
    landed = _sign_in_through_rp(browser, sso, sso.username)
    assert landed.url == f"{sso.rp_url}/", landed.url
    assert "歡迎，林小美" in landed.text and 'id="institution"' in landed.text
    assert "測試診所" in landed.text
    # 開啟 from 我的子系統: the RP is asked to sign in again, silently.
    home = browser.get(f"{sso.portal_url}/account", timeout=10)
    assert 'id="open-cessation"' in home.text
    opened = browser.get(f"{sso.portal_url}/my-subsystems/cessation/open", timeout=10)
    assert opened.url == f"{sso.rp_url}/" and "歡迎，林小美" in opened.text
    # A page that needs sign-in at the RP comes back to itself.
    assert "個案紀錄" in browser.get(f"{sso.rp_url}/records", timeout=10).text
    out = browser.post(f"{sso.rp_url}/logout", timeout=10)
    assert out.url.startswith(f"{sso.rp_url}/signed-out?state=") and "您已登出" in out.text
    after = browser.get(f"{sso.portal_url}/account", timeout=10)
    assert after.url.startswith(f"{sso.portal_url}/login"), after.url


def test_back_channel_logout_reaches_the_rp_on_deactivation(sso: Sso):
    browser = requests.Session()
    assert "歡迎" in _sign_in_through_rp(browser, sso, sso.username).text
    with sso.portal.app_context():
        from portal.accounts.models import Account
        from portal.manager.services import deactivate_user

        account = db.session.get(Account, sso.account_id)
        manager = factories.active_manager(account.institution)
        db.session.commit()
        deactivate_user(manager, account.id, "離職", Origin("test"))
    signed_out = _wait_until(
        lambda: 'id="signed-out-note"' in browser.get(f"{sso.rp_url}/", timeout=10).text
    )
    assert signed_out, "the relying party never heard of the deactivation"


def test_back_channel_logout_reaches_the_rp_on_portal_sign_out(sso: Sso):
    browser = requests.Session()
    assert "歡迎" in _sign_in_through_rp(browser, sso, sso.username).text
    page = browser.get(f"{sso.portal_url}/account", timeout=10)
    browser.post(f"{sso.portal_url}/logout", data={"csrf_token": csrf_token(page.text)})
    assert _wait_until(
        lambda: 'id="signed-out-note"' in browser.get(f"{sso.rp_url}/", timeout=10).text
    )


def test_access_refused_while_waiting_and_after_revocation(sso: Sso):
    with sso.portal.app_context():
        from portal.accounts.models import AccountState
        from tests.functional.oidc_helpers import grant

        waiting = factories.account(state=AccountState.ACTIVE)
        grant(waiting, "cessation", state=RequestState.PENDING)
        db.session.commit()
        waiting_name = waiting.username
    browser = requests.Session()
    page = _sign_in_through_rp(browser, sso, waiting_name)
    assert page.status_code == 403 and "正待子系統管理者審核" in page.text
    assert page.url.startswith(f"{sso.portal_url}/oidc/authorize")

    browser = requests.Session()
    assert "歡迎" in _sign_in_through_rp(browser, sso, sso.username).text
    with sso.portal.app_context():
        from sqlalchemy import select

        from portal.accounts.models import StaffRole
        from portal.subsystems.models import SubsystemRequest
        from portal.subsystems.services import decide_request

        admin = factories.staff(StaffRole.SUBSYSTEM_ADMIN, ("cessation",))
        db.session.commit()
        item = db.session.scalar(
            select(SubsystemRequest).where(SubsystemRequest.account_id == sso.account_id)
        )
        decide_request(admin, item.id, "revoke", Origin("test"), "已離職")
    assert _wait_until(
        lambda: 'id="signed-out-note"' in browser.get(f"{sso.rp_url}/", timeout=10).text
    )
    again = browser.get(f"{sso.rp_url}/login", timeout=10)
    assert again.status_code == 403 and "撤銷" in again.text
