"""機構管理: a portal administrator searches, adds, edits, deactivates and imports
institutions in the browser; every change is audited, and registration sees it at once."""

import io

import pytest
from sqlalchemy import func, select

from portal.accounts.models import AccountState, StaffRole
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.institutions.models import Institution
from tests import factories
from tests.functional.auth_helpers import login_staff, post_form
from tests.functional.helpers import csrf_token, text_of

NEW_CLINIC = {"code": "3599900001", "name": "新竹新約診所", "kind": "診所", "county": "新竹市"}

CSV = """機構代碼,機構名稱,機構類別,縣市,啟用
3599900011,苗栗新約衛生所,衛生所,苗栗縣,是
39991,壞代碼診所,診所,新竹市,是
3599900012,花蓮新約藥局,藥局,花蓮縣,否
3599900013,奇怪縣診所,診所,火星縣,是
"""


@pytest.fixture
def admin(client):
    """A portal administrator, signed in."""
    account = factories.staff(StaffRole.PORTAL_ADMIN)
    login_staff(client, account)
    return account


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def institution(code: str) -> Institution | None:
    return db.session.scalar(select(Institution).where(Institution.code == code))


def test_only_portal_administrators_see_the_pages(client):
    helper = factories.staff(StaffRole.HELP_DESK)
    login_staff(client, helper)
    for path in ("/admin/institutions", "/admin/institutions/new", "/admin/institutions/import"):
        assert client.get(path).status_code == 403


def test_add_a_clinic_that_registration_then_finds(client, admin):
    response = post_form(client, "/admin/institutions/new", "/admin/institutions/new", NEW_CLINIC)
    assert response.status_code == 303
    added = institution(NEW_CLINIC["code"])
    assert (added.name, added.kind, added.county, added.active) == (
        "新竹新約診所",
        "診所",
        "新竹市",
        True,
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已新增 新竹新約診所（3599900001）。" in page

    (event,) = events("institution.created")
    assert event.actor_account_id == admin.id
    assert event.institution_id == added.id
    assert event.detail["name"] == "新竹新約診所"

    # At registration, by code and by name.
    by_code = client.get("/institutions/search?q=3599900001", headers={"HX-Request": "true"})
    assert (
        text_of(by_code.get_data(as_text=True), "institution-name")
        == "已選擇：新竹新約診所（3599900001）"
    )
    by_name = client.get("/institutions/search?q=新約診所").get_data(as_text=True)
    assert 'data-code="3599900001"' in by_name


def test_a_new_clinic_with_mistakes_keeps_what_was_typed(client, admin):
    typed = {"code": "35999", "name": "", "kind": "", "county": "臺北市"}
    response = post_form(client, "/admin/institutions/new", "/admin/institutions/new", typed)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert text_of(page, "code-error") == "醫事機構代碼為 10 位數字。"
    assert text_of(page, "name-error") == "請輸入機構名稱。"
    assert text_of(page, "kind-error") == "請選擇機構類別。"
    assert 'value="35999"' in page
    assert '<option selected value="臺北市">' in page
    assert institution("35999") is None


def test_a_kind_or_county_not_on_the_list_is_refused_in_traditional_chinese(client, admin):
    typed = {**NEW_CLINIC, "kind": "牙科", "county": "火星縣"}
    response = post_form(client, "/admin/institutions/new", "/admin/institutions/new", typed)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert text_of(page, "kind-error") == "請從清單中選擇機構類別。"
    assert text_of(page, "county-error") == "請從清單中選擇縣市。"
    assert institution(NEW_CLINIC["code"]) is None


def test_a_code_already_taken_is_refused_next_to_the_field(client, admin):
    factories.institution(code="3599900002", name="既有診所")
    response = post_form(
        client,
        "/admin/institutions/new",
        "/admin/institutions/new",
        {**NEW_CLINIC, "code": "3599900002"},
    )
    assert response.status_code == 422
    assert text_of(response.get_data(as_text=True), "code-error") == (
        "機構代碼 3599900002 已是「既有診所」的代碼。"
    )
    assert institution("3599900002").name == "既有診所"
    assert events("institution.created") == []


def test_edit_records_what_changed(client, admin):
    clinic = factories.institution(name="舊名診所", county="臺北市")
    url = f"/admin/institutions/{clinic.id}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="舊名診所"' in page
    response = post_form(client, url, url, {"name": "新名診所", "kind": "診所", "county": "新北市"})
    assert response.status_code == 303
    db.session.refresh(clinic)
    assert (clinic.name, clinic.county) == ("新名診所", "新北市")
    (event,) = events("institution.updated")
    assert event.detail == {
        "before": {"name": "舊名診所", "county": "臺北市"},
        "after": {"name": "新名診所", "county": "新北市"},
    }
    # Saving it unchanged records nothing.
    post_form(client, url, url, {"name": "新名診所", "kind": "診所", "county": "新北市"})
    assert len(events("institution.updated")) == 1


def test_an_empty_name_on_edit_is_refused_and_the_rest_kept(client, admin):
    clinic = factories.institution(name="原名診所")
    url = f"/admin/institutions/{clinic.id}"
    response = post_form(client, url, url, {"name": "  ", "kind": "藥局", "county": "臺南市"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert text_of(page, "name-error") == "請輸入機構名稱。"
    assert '<option selected value="藥局">' in page
    db.session.refresh(clinic)
    assert clinic.name == "原名診所"


def test_deactivate_then_registration_names_it_inactive(client, admin):
    clinic = factories.institution(name="歇業診所")
    factories.account(institution=clinic, state=AccountState.ACTIVE)
    url = f"/admin/institutions/{clinic.id}"
    assert "已有的 1 個使用中帳號不受影響" in client.get(url).get_data(as_text=True)
    response = post_form(client, url, f"{url}/active", {"active": "0"})
    assert response.status_code == 303
    db.session.refresh(clinic)
    assert clinic.active is False
    assert [e.detail for e in events("institution.deactivated")] == [{"code": clinic.code}]

    found = client.get(f"/institutions/search?q={clinic.code}").get_data(as_text=True)
    assert text_of(found, "institution-inactive") == (
        f"「歇業診所」（{clinic.code}）已停用，不能申請帳號。如機構仍在營業，請洽系統服務窗口。"
    )
    assert "查無" not in found
    by_name = client.get("/institutions/search?q=歇業").get_data(as_text=True)
    assert "已停用的機構（不能申請帳號）：" in by_name and "查無" not in by_name

    post_form(client, url, f"{url}/active", {"active": "1"})
    db.session.refresh(clinic)
    assert clinic.active is True
    assert len(events("institution.reactivated")) == 1


def test_search_by_code_or_name_and_state(client, admin):
    factories.institution(code="3599900101", name="甲地診所")
    factories.institution(code="3599900102", name="乙地診所", active=False)
    factories.institution(code="3688800001", name="甲地藥局", kind="藥局")
    page = client.get("/admin/institutions?q=35999001").get_data(as_text=True)
    assert text_of(page, "institution-count") == "找到 2 個機構。"
    page = client.get("/admin/institutions?q=甲地").get_data(as_text=True)
    assert "甲地診所" in page and "甲地藥局" in page and "乙地診所" not in page
    page = client.get("/admin/institutions?q=地&state=inactive").get_data(as_text=True)
    assert text_of(page, "institution-count") == "找到 1 個機構。"
    assert "乙地診所" in page
    # LIKE's wildcards are only characters.
    assert (
        text_of(client.get("/admin/institutions?q=%25").get_data(as_text=True), "institution-count")
        == "找到 0 個機構。"
    )


def test_search_answers_htmx_with_the_list_only(client, admin):
    factories.institution(code="3599900201", name="丙地診所")
    fragment = client.get("/admin/institutions?q=丙地", headers={"HX-Request": "true"})
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="institution-list"')
    assert "<html" not in html and "丙地診所" in html
    assert "HX-Request" in fragment.headers["Vary"]
    page = client.get("/admin/institutions?q=丙地").get_data(as_text=True)
    assert "<html" in page and "丙地診所" in page


def upload(client, data: bytes, name: str = "institutions.csv"):
    page = client.get("/admin/institutions/import").get_data(as_text=True)
    return client.post(
        "/admin/institutions/import",
        data={"csrf_token": csrf_token(page), "csv_file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_csv_upload_imports_good_rows_and_lists_the_bad_ones(client, admin):
    response = upload(client, CSV.encode("cp950"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert text_of(page, "import-summary") == "新增 2 筆、更新 0 筆、未變更 0 筆；略過有誤的 2 列。"
    assert "第 3 行" in page and "須為 10 位數字" in page
    assert "第 5 行" in page and "火星縣" in page
    assert institution("3599900011").name == "苗栗新約衛生所"
    assert institution("3599900012").active is False
    assert institution("39991") is None

    (event,) = events("institution.imported")
    assert event.actor_account_id == admin.id
    assert event.detail["created"] == 2 and event.detail["skipped_rows"] == 2
    assert event.detail["created_codes"] == ["3599900011", "3599900012"]
    assert event.detail["file_name"] == "institutions.csv"

    # Again, with one name changed: updated by code, never duplicated.
    again = upload(client, CSV.replace("苗栗新約衛生所", "苗栗新約健康中心").encode("utf-8-sig"))
    assert text_of(again.get_data(as_text=True), "import-summary") == (
        "新增 0 筆、更新 1 筆、未變更 1 筆；略過有誤的 2 列。"
    )
    assert institution("3599900011").name == "苗栗新約健康中心"
    assert db.session.scalar(select(func.count()).select_from(Institution)) == 2


def test_upload_without_a_file_or_an_unreadable_one_says_so_next_to_the_field(client, admin):
    page = client.get("/admin/institutions/import").get_data(as_text=True)
    missing = client.post(
        "/admin/institutions/import",
        data={"csrf_token": csrf_token(page)},
        content_type="multipart/form-data",
    )
    assert missing.status_code == 422
    assert text_of(missing.get_data(as_text=True), "csv_file-error") == "請選擇要匯入的 CSV 檔。"

    empty = upload(client, b"")
    assert (
        text_of(empty.get_data(as_text=True), "csv_file-error") == "檔案是空的，請確認選擇的檔案。"
    )

    utf16 = upload(client, CSV.encode("utf-16"))
    assert utf16.status_code == 422
    html = utf16.get_data(as_text=True)
    assert "整個檔案" in html and "既不是 UTF-8 也不是 Big5" in html
    assert events("institution.imported")[-1].detail["created"] == 0


def test_an_upload_over_the_limit_is_refused_next_to_the_field(client, admin, app):
    saved = app.config["INSTITUTION_CSV_MAX_BYTES"]
    app.config["INSTITUTION_CSV_MAX_BYTES"] = 100
    try:
        response = upload(client, CSV.encode("utf-8"))
    finally:
        app.config["INSTITUTION_CSV_MAX_BYTES"] = saved
    assert response.status_code == 422
    assert "檔案超過" in text_of(response.get_data(as_text=True), "csv_file-error")
    assert institution("3599900011") is None


def test_the_command_line_import_is_audited_too(live_app, tmp_path):
    path = tmp_path / "list.csv"
    path.write_text(CSV, encoding="utf-8")
    result = live_app.test_cli_runner().invoke(args=["import-institutions", str(path)])
    assert "新增 2、更新 0、未變更 0；略過有誤的 2 筆" in result.output
    with live_app.app_context():
        (event,) = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "institution.imported")
        )
        assert event.remote_addr == "cli" and event.actor_account_id is None
        assert event.detail["file_name"] == "list.csv"


def test_an_unknown_institution_is_not_found(client, admin):
    assert client.get("/admin/institutions/999999").status_code == 404
    page = client.get("/admin/institutions/999999/active")
    assert page.status_code == 405
