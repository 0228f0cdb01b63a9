"""The main navigation marks where the person is: aria-current="page" on the page's own link,
aria-current="true" on its section's link from a page within it."""

import re

import pytest

from portal.accounts.models import AccountState, Role, StaffRole
from tests import factories
from tests.functional.auth_helpers import login, login_staff


def marked(html: str) -> dict[str, str]:
    """The main menu's links that carry aria-current: link text -> its value."""
    nav = html[html.index('id="main-nav"') :]
    nav = nav[: nav.index("</nav>")]
    return {
        text.strip(): value
        for value, text in re.findall(r'<a href="[^"]*" aria-current="(\w+)">([^<]*)</a>', nav)
    }


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", {"首頁": "page"}),
        ("/register", {"帳號申請": "page"}),
        ("/applications/status", {"申請進度查詢": "page"}),
        ("/login", {"登入": "page"}),
        ("/password/forgot", {"登入": "true"}),
        ("/downloads/nothing-here", {}),
    ],
)
def test_visitor_pages(client, db_session, path, expected):
    assert marked(client.get(path).get_data(as_text=True)) == expected


def test_a_refused_form_is_still_its_page(client, db_session):
    html = client.post("/applications/status", data={}).get_data(as_text=True)
    assert marked(html) == {"申請進度查詢": "page"}


def test_manager_pages(client, db_session):
    clinic = factories.institution()
    manager = factories.account(institution=clinic, role=Role.MANAGER, state=AccountState.ACTIVE)
    user = factories.account(institution=clinic, state=AccountState.ACTIVE)
    login(client, manager.username)
    for path, expected in (
        ("/account", {"我的帳號": "page"}),
        ("/manager/applications", {"帳號審核": "page"}),
        ("/manager/users", {"本機構使用者": "page"}),
        (f"/manager/users/{user.id}/deactivate", {"本機構使用者": "true"}),
        ("/manager-changes", {"管理者異動": "page"}),
        ("/manager-changes/new", {"管理者異動": "true"}),
    ):
        assert marked(client.get(path).get_data(as_text=True)) == expected, path


@pytest.mark.parametrize(
    ("role", "path", "expected"),
    [
        (StaffRole.HELP_DESK, "/review", {"紙本審核": "page"}),
        (StaffRole.SUBSYSTEM_ADMIN, "/subsystem-admin/requests", {"子系統權限審核": "page"}),
        (StaffRole.PORTAL_ADMIN, "/admin/staff", {"工作人員管理": "page"}),
        (StaffRole.PORTAL_ADMIN, "/admin/staff/new", {"工作人員管理": "true"}),
        (StaffRole.PORTAL_ADMIN, "/admin/audit", {"稽核紀錄": "page"}),
        (StaffRole.PORTAL_ADMIN, "/admin/content", {"網站內容管理": "page"}),
        (StaffRole.PORTAL_ADMIN, "/admin/content/faq/new", {"網站內容管理": "true"}),
    ],
)
def test_staff_pages(client, db_session, role, path, expected):
    login_staff(client, factories.staff(role))
    assert marked(client.get(path).get_data(as_text=True)) == expected
