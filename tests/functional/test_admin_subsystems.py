"""子系統管理: a portal administrator adds and edits subsystems; registration follows."""

import pytest
from sqlalchemy import select

from portal.accounts.models import StaffRole
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.subsystems.models import Subsystem
from tests import factories
from tests.functional.auth_helpers import login_staff, post_form
from tests.functional.helpers import text_of

NEW = {
    "name": "長者健康評估系統",
    "code": "elder-health",
    "description": "長者健康整合式評估的申報。",
    "sort_order": "70",
    "active": "y",
}


@pytest.fixture
def admin(client):
    account = factories.staff(StaffRole.PORTAL_ADMIN)
    login_staff(client, account)
    return account


def subsystem(code: str) -> Subsystem | None:
    return db.session.scalar(select(Subsystem).where(Subsystem.code == code))


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_list_shows_every_subsystem_in_order(client, admin):
    page = client.get("/admin/subsystems").get_data(as_text=True)
    assert page.index("戒菸服務系統") < page.index("癌症篩檢系統")
    assert '<th scope="col">' in page


def test_add_a_subsystem_that_registration_then_offers(client, admin):
    response = post_form(client, "/admin/subsystems/new", "/admin/subsystems/new", NEW)
    assert response.status_code == 303
    added = subsystem("elder-health")
    assert (added.name, added.sort_order, added.active) == ("長者健康評估系統", 70, True)
    (event,) = events("subsystem.created")
    assert event.subject_id == "elder-health" and event.actor_account_id == admin.id
    assert event.detail["enabled"] is True
    register = client.get("/register?institution_code=1").get_data(as_text=True)
    assert 'value="elder-health"' in register


def test_edit_deactivates_and_registration_stops_offering_it(client, admin):
    oral = subsystem("oral-cancer")
    url = f"/admin/subsystems/{oral.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="口腔癌篩檢系統"' in page
    form = {
        "name": "口腔癌篩檢系統",
        "code": "oral-cancer",
        "description": oral.description,
        "sort_order": str(oral.sort_order),
    }  # "active" unticked
    assert post_form(client, url, url, form).status_code == 303
    db.session.refresh(oral)
    assert oral.active is False
    (event,) = events("subsystem.updated")
    assert event.detail == {"before": {"enabled": True}, "after": {"enabled": False}}
    register = client.get("/register?institution_code=1").get_data(as_text=True)
    assert 'value="oral-cancer"' not in register


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "請輸入子系統名稱。"),
        ("name", "戒菸服務系統", "已有同名的子系統，請換一個名稱。"),
        ("code", "Elder Health", "代碼為 2 至 40 個小寫英文字母、數字或 -，以英文字母開頭。"),
        ("code", "cessation", "這個代碼已有其他子系統使用，請換一個。"),
        ("sort_order", "abc", "排列順序為 0 至 999 的整數。"),
        ("sort_order", "", "請輸入排列順序（0 至 999 的整數）。"),
        ("sort_order", "1000", "排列順序為 0 至 999 的整數。"),
        ("description", "說" * 501, "說明最多 500 個字。"),
    ],
)
def test_mistakes_are_said_next_to_the_field_and_input_kept(client, admin, field, value, message):
    response = post_form(
        client, "/admin/subsystems/new", "/admin/subsystems/new", {**NEW, field: value}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert text_of(page, f"{field}-error") == message
    if field != "name":
        assert 'value="長者健康評估系統"' in page
    assert subsystem("elder-health") is None
    assert events("subsystem.created") == []


def test_renaming_onto_another_name_is_refused(client, admin):
    oral = subsystem("oral-cancer")
    url = f"/admin/subsystems/{oral.id}"
    form = {"name": "戒菸服務系統", "code": "oral-cancer", "description": "", "sort_order": "2"}
    response = post_form(client, url, url, form)
    assert response.status_code == 422
    assert (
        text_of(response.get_data(as_text=True), "name-error") == "已有同名的子系統，請換一個名稱。"
    )
    db.session.refresh(oral)
    assert oral.name == "口腔癌篩檢系統"


def test_others_may_not(client):
    login_staff(client, factories.staff(StaffRole.SUBSYSTEM_ADMIN, ("cessation",)))
    assert client.get("/admin/subsystems").status_code == 403
    assert client.get("/admin/subsystems/new").status_code == 403
