"""Every role against every other role's pages and objects: refusals, not leaks."""

import pytest
from sqlalchemy import select

from portal.accounts.models import AccountState, Role, StaffRole
from portal.subsystems.models import Subsystem, SubsystemRequest
from tests import factories
from tests.functional.auth_helpers import login, login_staff


@pytest.fixture
def world(db_session):
    """Two institutions with a manager and a pending general user each; staff of every kind."""
    home, other = factories.institution(), factories.institution()
    people = {
        "manager": factories.active_manager(home),
        "other_manager": factories.active_manager(other),
        "general": factories.account(institution=home, state=AccountState.ACTIVE),
        "help_desk": factories.staff(StaffRole.HELP_DESK),
        "cessation_admin": factories.staff(StaffRole.SUBSYSTEM_ADMIN, ("cessation",)),
        "portal_admin": factories.staff(StaffRole.PORTAL_ADMIN),
    }
    applicant = factories.account(institution=home, role=Role.GENERAL)
    outsider = factories.account(institution=other, role=Role.GENERAL)
    subsystems = {s.code: s for s in db_session.scalars(select(Subsystem))}
    requests = {}
    for code in ("cessation", "oral-cancer"):
        item = SubsystemRequest(account=applicant, subsystem=subsystems[code])
        db_session.add(item)
        requests[code] = item
    db_session.flush()
    return {
        "people": people,
        "home_application": factories.application(applicant),
        "other_application": factories.application(outsider),
        "requests": requests,
    }


def sign_in_as(client, world, who):
    if who == "anonymous":
        return
    account = world["people"][who]
    response = login_staff(client, account) if account.is_staff else login(client, account.username)
    assert response.status_code == 303


PAGES = {
    "/account": {"anonymous": 302},
    "/manager/applications": {"manager": 200, "other_manager": 200, "anonymous": 302},
    "/manager/users": {"manager": 200, "other_manager": 200, "anonymous": 302},
    "/subsystem-admin/requests": {"cessation_admin": 200, "anonymous": 302},
    "/admin/staff": {"portal_admin": 200, "anonymous": 302},
    "/admin/staff/new": {"portal_admin": 200, "anonymous": 302},
    "/admin/audit": {"portal_admin": 200, "anonymous": 302},
    "/admin/audit/export.csv": {"portal_admin": 200, "anonymous": 302},
    "/review": {"help_desk": 200, "anonymous": 302},
}
ROLES = [
    "anonymous",
    "general",
    "manager",
    "other_manager",
    "help_desk",
    "cessation_admin",
    "portal_admin",
]


@pytest.mark.parametrize("who", ROLES)
def test_each_role_reaches_only_its_pages(client, world, who):
    sign_in_as(client, world, who)
    for path, allowed in PAGES.items():
        expected = allowed.get(who, 200 if path == "/account" else 403)
        assert client.get(path).status_code == expected, (who, path)


def test_manager_sees_only_own_institution_applications(client, world):
    sign_in_as(client, world, "manager")
    own = world["home_application"].id
    foreign = world["other_application"].id
    assert client.get(f"/manager/applications/{own}").status_code == 200
    assert client.get(f"/manager/applications/{foreign}").status_code == 404
    page = client.get("/manager/applications").get_data(as_text=True)
    assert world["home_application"].application_no in page
    assert world["other_application"].application_no not in page


def test_manager_cannot_decide_or_deactivate_elsewhere(client, world):
    from tests.functional.auth_helpers import post_form

    sign_in_as(client, world, "other_manager")
    own_id = world["home_application"].id
    response = post_form(
        client,
        "/manager/applications",
        f"/manager/applications/{own_id}/decision",
        {"decision": "approve"},
    )
    assert response.status_code == 404
    general = world["people"]["general"]
    response = post_form(client, "/manager/users", f"/manager/users/{general.id}/deactivate", {})
    assert response.status_code == 404
    assert general.state is AccountState.ACTIVE


def test_subsystem_admin_sees_only_their_subsystems(client, world):
    sign_in_as(client, world, "cessation_admin")
    mine, theirs = world["requests"]["cessation"].id, world["requests"]["oral-cancer"].id
    assert client.get(f"/subsystem-admin/requests/{mine}").status_code == 200
    assert client.get(f"/subsystem-admin/requests/{theirs}").status_code == 404
    page = client.get("/subsystem-admin/requests").get_data(as_text=True)
    assert "戒菸服務系統" in page and "口腔癌篩檢系統" not in page
    from tests.functional.auth_helpers import post_form

    refused = post_form(
        client, "/subsystem-admin/requests", f"/subsystem-admin/requests/{theirs}/approve", {}
    )
    assert refused.status_code == 404


@pytest.mark.parametrize("who", ["general", "manager", "help_desk", "cessation_admin"])
def test_only_portal_admins_edit_staff(client, world, who):
    sign_in_as(client, world, who)
    target = world["people"]["help_desk"].id
    assert client.get(f"/admin/staff/{target}").status_code == 403


def test_portal_admin_cannot_open_an_institution_account_as_staff(client, world):
    sign_in_as(client, world, "portal_admin")
    assert client.get(f"/admin/staff/{world['people']['general'].id}").status_code == 404


@pytest.mark.parametrize(
    ("who", "links"),
    [
        ("general", ["我的帳號"]),
        ("manager", ["我的帳號", "帳號審核", "本機構使用者"]),
        ("help_desk", ["我的帳號", "紙本審核"]),
        ("cessation_admin", ["我的帳號", "子系統權限審核"]),
        ("portal_admin", ["我的帳號", "工作人員管理", "稽核紀錄"]),
    ],
)
def test_navigation_shows_what_the_role_may_do(client, world, who, links):
    from tests.functional.helpers import text_of

    sign_in_as(client, world, who)
    nav = text_of(client.get("/account").get_data(as_text=True), "main-nav")
    for link in links:
        assert link in nav
    role_links = {"帳號審核", "紙本審核", "子系統權限審核", "工作人員管理", "稽核紀錄"}
    for other in role_links - set(links):
        assert other not in nav


def objects_by_id(world) -> list[tuple[str, str, set[str]]]:
    """(method, path, roles allowed) for each object page and action, by the object's id."""
    paper, scan = paper_application()
    own = world["home_application"].id
    general = world["people"]["general"].id
    cessation = world["requests"]["cessation"].id
    help_desk = world["people"]["help_desk"].id
    return [
        ("GET", f"/manager/applications/{own}", {"manager"}),
        ("POST", f"/manager/applications/{own}/decision", {"manager"}),
        ("GET", f"/manager/users/{general}/deactivate", {"manager"}),
        ("POST", f"/manager/users/{general}/deactivate", {"manager"}),
        ("POST", f"/manager/users/{general}/reactivate", {"manager"}),
        ("GET", f"/subsystem-admin/requests/{cessation}", {"cessation_admin"}),
        ("POST", f"/subsystem-admin/requests/{cessation}/approve", {"cessation_admin"}),
        ("GET", f"/review/{paper}", {"help_desk"}),
        ("GET", f"/review/{paper}/scans/{scan}", {"help_desk"}),
        ("POST", f"/review/{paper}/national-id", {"help_desk"}),
        ("POST", f"/review/{paper}/decision", {"help_desk"}),
        ("GET", f"/admin/staff/{help_desk}", {"portal_admin"}),
    ]


def paper_application() -> tuple[int, int]:
    """A manager application waiting for the help desk with its scan: both ids."""
    from portal.registration.models import ApplicationState

    manager = factories.account(role=Role.MANAGER, institution=factories.institution())
    application = factories.application(manager, state=ApplicationState.AWAITING_PAPER_REVIEW)
    scan = factories.paper_scan(application)
    return application.id, scan.id


@pytest.mark.parametrize("who", ROLES)
def test_each_role_is_refused_other_roles_objects_by_id(client, world, who, db_session):
    """Another role gets 403; the same role of another scope gets 404 (nothing to see)."""
    from tests.functional.helpers import csrf_token

    objects = objects_by_id(world)
    sign_in_as(client, world, who)
    token = csrf_token(client.get("/").get_data(as_text=True))
    for method, path, allowed in objects:
        if who in allowed:
            continue
        if method == "GET":
            response = client.get(path)
        else:
            response = client.post(path, data={"csrf_token": token, "decision": "approve"})
        if who == "anonymous":
            expected = 302
        elif who == "other_manager" and "manager" in allowed:
            expected = 404
        else:
            expected = 403
        assert response.status_code == expected, (who, method, path, response.status_code)
    # Nothing was decided, deactivated or approved by anybody who was refused.
    db_session.expire_all()
    assert world["people"]["general"].state is AccountState.ACTIVE
    assert world["requests"]["cessation"].state.value == "pending"
