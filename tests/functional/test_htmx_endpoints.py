"""The HTMX endpoints of registration, each as a fragment and as a full page."""

import pytest

from tests import factories
from tests.functional.helpers import csrf_token, text_of

HX = {"HX-Request": "true"}


@pytest.fixture
def token(client):
    return csrf_token(client.get("/register").get_data(as_text=True))


def test_institution_search_fragment_lists_matches(client, db_session):
    factories.institution(code="3999000001", name="臺中測試牙醫診所")
    factories.institution(code="3999000002", name="臺中測試眼科診所")
    factories.institution(code="3999000003", name="已歇業測試診所", active=False)
    response = client.get("/institutions/search?q=台中測試", headers=HX)
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="institution-results"')
    assert "臺中測試牙醫診所" in html and "臺中測試眼科診所" in html
    assert "已歇業" not in html
    assert "HX-Request" in response.headers["Vary"]


def test_institution_search_by_code_confirms_the_name(client, db_session):
    factories.institution(code="3999000011", name="花蓮測試衛生所")
    html = client.get("/institutions/search?institution_code=3999000011", headers=HX).get_data(
        as_text=True
    )
    assert "花蓮測試衛生所" in text_of(html, "institution-name")
    prefix = client.get("/institutions/search?q=399900001", headers=HX).get_data(as_text=True)
    assert "花蓮測試衛生所" in prefix


def test_institution_search_full_page_works_without_javascript(client, db_session):
    factories.institution(code="3999000021", name="澎湖測試診所")
    response = client.get("/institutions/search?q=澎湖測試")
    html = response.get_data(as_text=True)
    assert "<html" in html and "搜尋醫事機構" in html
    assert 'href="/register?institution_code=3999000021"' in html
    assert "HX-Request" in response.headers["Vary"]


def test_history_restore_gets_the_full_page(client, db_session):
    headers = {**HX, "HX-History-Restore-Request": "true"}
    html = client.get("/institutions/search?q=x", headers=headers).get_data(as_text=True)
    assert "<html" in html


def test_institution_search_with_nothing_or_absurd_input(client, db_session):
    assert "查無符合" in client.get("/institutions/search?q=不存在的機構名", headers=HX).get_data(
        as_text=True
    )
    response = client.get("/institutions/search?q=" + "%25_" * 5000, headers=HX)
    assert response.status_code == 200


def test_meter_fragment_goes_from_refused_to_strong(client, token):
    headers = {**HX, "X-CSRFToken": token}
    verdicts = []
    for password in ("abc", "Tz9*kq~W", "Tz9*kq~Wm!x2"):
        html = client.post(
            "/register/password-strength",
            data={"password": password, "username": "chen01", "national_id": "A123456789"},
            headers=headers,
        ).get_data(as_text=True)
        assert html.lstrip().startswith('<div id="password-meter"')
        verdicts.append(text_of(html, "password-strength"))
    assert verdicts[0] == "不符合規則"
    assert verdicts[-1] == "強"


REFUSED_BUT_STRONG = "Clinic@Chen$2026"  # zxcvbn: 4, but @ and $ are not among *~!=#


def test_meter_fragment_never_calls_a_refused_password_strong(client, token):
    html = client.post(
        "/register/password-strength",
        data={"password": REFUSED_BUT_STRONG, "username": "chen01"},
        headers={**HX, "X-CSRFToken": token},
    ).get_data(as_text=True)
    assert html.lstrip().startswith('<div id="password-meter"')
    assert text_of(html, "password-strength") == "不符合規則"
    assert "meter-strong" not in html and "strength-strong" not in html
    assert 'class="meter-bar meter-unacceptable"' in html
    assert 'class="unmet" data-rule="charset"' in html


def test_meter_full_page_never_calls_a_refused_password_strong(client, token):
    html = client.post(
        "/register/password-strength",
        data={"csrf_token": token, "password": REFUSED_BUT_STRONG, "username": "chen01"},
    ).get_data(as_text=True)
    assert "<html" in html
    assert text_of(html, "password-strength") == "不符合規則"
    assert "meter-strong" not in html


def test_meter_checklist_ticks_each_rule(client, token):
    html = client.post(
        "/register/password-strength",
        data={"password": "abcdefgh"},
        headers={**HX, "X-CSRFToken": token},
    ).get_data(as_text=True)
    assert 'class="met" data-rule="lower"' in html
    assert 'class="unmet" data-rule="upper"' in html
    assert 'class="unmet" data-rule="special"' in html


def test_meter_full_page_keeps_the_other_input(client, token):
    response = client.post(
        "/register/password-strength",
        data={"csrf_token": token, "password": "Tz9*kq~Wm!x2", "name": "陳小明", "email": "a@b.tw"},
    )
    html = response.get_data(as_text=True)
    assert "<html" in html
    assert text_of(html, "password-strength") == "強"
    assert 'value="陳小明"' in html
    assert "Tz9*kq~Wm!x2" not in html


def test_meter_needs_the_csrf_token(client):
    response = client.post("/register/password-strength", data={"password": "x"}, headers=HX)
    assert response.status_code == 400


def test_role_check_allows_general_user_with_manager(client, token, db_session):
    clinic = factories.institution()
    factories.active_manager(clinic)
    html = client.post(
        "/register/role-check",
        data={"institution_code": clinic.code, "role": "general"},
        headers={**HX, "X-CSRFToken": token},
    ).get_data(as_text=True)
    assert text_of(html, "role-error") == ""


def test_search_answers_are_reused_for_a_while(app, client, db_session):
    factories.institution(code="3999000031", name="金門測試診所")
    app.config["INSTITUTION_SEARCH_CACHE_SECONDS"] = 60
    try:
        first = client.get("/institutions/search?q=金門測試", headers=HX).get_data(as_text=True)
        factories.institution(code="3999000032", name="金門測試二診所")
        second = client.get("/institutions/search?q=金門測試", headers=HX).get_data(as_text=True)
    finally:
        app.config["INSTITUTION_SEARCH_CACHE_SECONDS"] = 0
    assert second == first and "金門測試二診所" not in second
    fresh = client.get("/institutions/search?q=金門測試", headers=HX).get_data(as_text=True)
    assert "金門測試二診所" in fresh


def test_a_full_code_the_kept_list_lacks_is_looked_up(app, client, db_session):
    # A clinic added through another process, whose copy of the list this one does not share.
    factories.institution(code="3999000041", name="金門既有診所")
    app.config["INSTITUTION_SEARCH_CACHE_SECONDS"] = 60
    try:
        client.get("/institutions/search?q=金門", headers=HX)
        factories.institution(code="3999000042", name="金門新約診所")
        by_code = client.get("/institutions/search?q=3999000042", headers=HX)
        by_name = client.get("/institutions/search?q=金門新約", headers=HX)
    finally:
        app.config["INSTITUTION_SEARCH_CACHE_SECONDS"] = 0
    assert text_of(by_code.get_data(as_text=True), "institution-name") == (
        "已選擇：金門新約診所（3999000042）"
    )
    # A name waits for the copy's next reading.
    assert "金門新約診所" not in by_name.get_data(as_text=True)


def test_blank_form_is_rendered_once_with_fresh_tokens_each_time(client, db_session):
    from tests.functional.helpers import hidden_value

    pages = [client.get("/register").get_data(as_text=True) for _ in range(2)]
    tokens = [hidden_value(page, "submission_token") for page in pages]
    assert tokens[0] != tokens[1]
    assert "placeholder" not in pages[0]
    assert csrf_token(pages[0]) == csrf_token(pages[1])  # one session, one CSRF token
