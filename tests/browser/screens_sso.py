"""Screenshots of the sign-on pages (我的子系統, the access page, the subsystem
administrators' queue, the portal administrator's clients, the sign-out confirmation) at a
desktop's and a phone's width, in their normal and error states.

Not part of the suite (the file name does not start with test_); run it on purpose:

    python -m pytest tests/browser/screens_sso.py

Full-page PNGs land in tests/artifacts/screens/sso-<name>-<width>.png; pages wider than the
window are listed in overflow.txt beside them.
"""

import pytest
from playwright.sync_api import Page

from portal.accounts.models import AccountState, StaffRole
from portal.extensions import db
from portal.subsystems.models import RequestState
from tests import factories
from tests.browser.screens_manager_changes import Camera
from tests.functional.oidc_helpers import grant
from tests.oidc_stack import Sso, sso_stack

pytestmark = pytest.mark.browser


@pytest.fixture
def sso(fresh_database, smtp_sink, tmp_path):
    """A live portal and the demo relying party."""
    with sso_stack(fresh_database, smtp_sink.port, tmp_path) as stack:
        yield stack


def _sign_in(page: Page, sso: Sso, username: str, staff: bool = False) -> None:
    page.goto(f"{sso.portal_url}/login")
    page.get_by_label("帳號").fill(username)
    page.get_by_label("密碼").fill(factories.STRONG_PASSWORD)
    page.get_by_role("button", name="登入", exact=True).click()
    if staff:
        # Read in a context of its own, closed before the browser goes on: an open SQLite
        # read would hold up the server's writes.
        with sso.portal.app_context():
            from portal.accounts.models import Account

            account = db.session.scalar(db.select(Account).where(Account.username == username))
            code = factories.totp_code(account)
            db.session.remove()
        page.get_by_label("驗證碼").fill(code)
        page.get_by_role("button", name="驗證").click()


def test_screens(sso: Sso, page: Page, page_problems, artifacts):
    page_problems.expect_console_error("status of (400|403|422)")
    camera = Camera(artifacts / "screens")
    with sso.portal.app_context():
        from portal.accounts.models import Account

        me = db.session.get(Account, sso.account_id)
        grant(me, "oral-cancer", state=RequestState.REFUSED, refusal_reason="非口腔黏膜篩檢院所")
        grant(me, "child-health", state=RequestState.PENDING, justification="兒童預防保健")
        waiting = factories.account(state=AccountState.ACTIVE, name="陳大文")
        grant(waiting, "cessation", state=RequestState.PENDING, justification="戒菸門診個案登錄")
        grant(factories.account(name="王未啟"), "cessation", state=RequestState.PENDING)
        admin = factories.staff(StaffRole.SUBSYSTEM_ADMIN, ("cessation",))
        portal_admin = factories.staff(StaffRole.PORTAL_ADMIN)
        db.session.commit()
        admin_name, portal_admin_name = admin.username, portal_admin.username
        db.session.remove()

    _sign_in(page, sso, sso.username)
    page.goto(f"{sso.portal_url}/account#my-subsystems")
    camera.shoot(page, "sso-my-subsystems")
    page.get_by_role("button", name="送出申請").click()
    camera.shoot(page, "sso-ask-refused")
    # The access page: a subsystem this person was refused.
    page.goto(
        f"{sso.portal_url}/oidc/authorize?response_type=code&client_id=nobody"
        "&redirect_uri=https://x.example/cb"
    )
    camera.shoot(page, "sso-authorize-error")
    page.goto(f"{sso.portal_url}/oidc/logout?client_id=cessation-demo")
    camera.shoot(page, "sso-logout-confirm")
    page.locator("#main-nav").get_by_role("button", name="登出").click()

    _sign_in(page, sso, admin_name, staff=True)
    camera.shoot(page, "sso-admin-requests")
    page.locator("#subsystem-requests a").first.click()
    page.get_by_role("button", name="不核准").click()
    camera.shoot(page, "sso-admin-refuse-needs-reason")
    page.locator("#main-nav").get_by_role("button", name="登出").click()

    _sign_in(page, sso, portal_admin_name, staff=True)
    page.goto(f"{sso.portal_url}/admin/clients/")
    camera.shoot(page, "sso-clients")
    page.goto(f"{sso.portal_url}/admin/clients/new")
    page.get_by_label("用戶端代碼（client_id）").fill("Bad Id")
    page.get_by_role("button", name="登記並產生密鑰").click()
    camera.shoot(page, "sso-client-new-refused")
    page.goto(f"{sso.portal_url}/admin/clients/cessation-demo")
    camera.shoot(page, "sso-client-edit")
    page.get_by_role("button", name="重新產生密鑰").click()
    camera.shoot(page, "sso-client-secret")
    camera.save_notes()


def test_access_page_screens(sso: Sso, page: Page, page_problems, artifacts):
    page_problems.expect_console_error("status of (403|422)")
    camera = Camera(artifacts / "screens")
    with sso.portal.app_context():
        nobody = factories.account(state=AccountState.ACTIVE, name="張未申請")
        db.session.commit()
        username = nobody.username
    page.goto(f"{sso.rp_url}/login")
    page.get_by_label("帳號").fill(username)
    page.get_by_label("密碼").fill(factories.STRONG_PASSWORD)
    page.get_by_role("button", name="登入", exact=True).click()
    camera.shoot(page, "sso-access-never-asked")
    page.get_by_role("button", name="申請使用").click()
    camera.shoot(page, "sso-access-ask-refused")
    page.get_by_label("申請說明").fill("本院戒菸門診個案登錄")
    page.get_by_role("button", name="申請使用").click()
    camera.shoot(page, "sso-access-waiting")
    camera.save_notes()
