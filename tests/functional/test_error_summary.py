"""A refused form: a summary at its top linking each wrong field, and a cleared password said.

Every form renders its fields through portal/templates/_macros.html, so each one gets the same
summary (role="alert", 請修正以下 N 個欄位, links to "#<field>") and the same note next to a
password field the server emptied (為了安全，請重新輸入密碼。).
"""

import re
from html import unescape

import pytest

from portal.accounts.models import AccountState, Role, StaffRole
from portal.auth.passwords import issue_reset_token
from tests import factories
from tests.functional.auth_helpers import login, login_staff
from tests.functional.helpers import csrf_token, hidden_value, text_of

HX = {"HX-Request": "true"}
CLEARED = "為了安全，請重新輸入密碼。"


def summary(html: str) -> tuple[str, list[str]] | None:
    """The error summary's heading (or "" without one) and its links, or None if absent."""
    match = re.search(
        r'<div class="error-summary" role="alert" tabindex="-1">(.*?)</div>', html, re.S
    )
    if not match:
        return None
    inner = match.group(1)
    heading = re.search(r"<h2>(.*?)</h2>", inner, re.S)
    links = re.findall(r'<a href="(#[^"]+)">', inner)
    return (unescape(heading.group(1)).strip() if heading else ""), links


def post_page(client, page_url: str, action_url: str, data: dict, **kwargs):
    token = csrf_token(client.get(page_url).get_data(as_text=True))
    return client.post(action_url, data={"csrf_token": token, **data}, **kwargs)


def test_a_form_as_first_shown_has_no_summary_and_no_note(client):
    for url in ("/register", "/login", "/password/forgot", "/applications/status"):
        html = client.get(url).get_data(as_text=True)
        assert summary(html) is None, url
        assert CLEARED not in html, url


def test_refused_application_links_each_wrong_field_and_says_the_password_was_cleared(client):
    page = client.get("/register").get_data(as_text=True)
    response = client.post(
        "/register",
        data={
            "csrf_token": csrf_token(page),
            "submission_token": hidden_value(page, "submission_token"),
            "institution_code": "",
            "username": "chen.clinic01",
            "password": factories.STRONG_PASSWORD,
            "password_confirm": factories.STRONG_PASSWORD,
            "national_id": "A123456788",
            "name": "陳小明",
            "phone": "02-12345678",
            "email": "chen@",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    heading, links = summary(html)
    assert heading == "請修正以下 4 個欄位"
    # In the form's order; a group of choices is linked by its wrapper.
    assert links == ["#institution_code", "#role-field", "#national_id", "#email"]
    assert 'id="role-field"' in html
    # Each link says what its field's error says.
    assert "身分證字號或居留證號格式不正確" in html.split('href="#national_id"')[1].split("</a>")[0]

    assert text_of(html, "password-cleared") == CLEARED
    assert text_of(html, "password_confirm-cleared") == CLEARED
    password = re.search(r'<input[^>]*id="password"[^>]*>', html)[0]
    assert 'aria-describedby="password-error password-cleared password-strength-summary"' in (
        password
    )
    assert 'value=""' in password


def test_no_note_for_a_password_that_was_left_empty(client):
    page = client.get("/login").get_data(as_text=True)
    html = client.post(
        "/login", data={"csrf_token": csrf_token(page), "username": "", "password": ""}
    ).get_data(as_text=True)
    heading, links = summary(html)
    assert heading == "請修正以下 2 個欄位" and links == ["#username", "#password"]
    assert CLEARED not in html and text_of(html, "password-cleared") is None


def test_wrong_password_is_the_summary_and_the_password_note(client, db_session):
    factories.account(state=AccountState.ACTIVE, username="lin.clinic07")
    response = login(client, "lin.clinic07", "Wrong*pass9x")
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert summary(html) == ("", [])
    assert text_of(html, "login-error") == "帳號或密碼錯誤。"
    assert 'class="error-summary-message" id="login-error"' in html
    assert text_of(html, "password-cleared") == CLEARED


def test_status_lookup_fragment_has_the_summary_and_not_found_in_it(client, db_session):
    token = csrf_token(client.get("/applications/status").get_data(as_text=True))
    refused = client.post(
        "/applications/status",
        data={"csrf_token": token, "application_no": "123", "national_id": ""},
        headers=HX,
    ).get_data(as_text=True)
    assert refused.lstrip().startswith('<div id="status-lookup"')
    assert summary(refused) == ("請修正以下 2 個欄位", ["#application_no", "#national_id"])

    not_found = client.post(
        "/applications/status",
        data={"csrf_token": token, "application_no": "12345678901234", "national_id": "A123456789"},
        headers=HX,
    ).get_data(as_text=True)
    assert summary(not_found) == ("", [])
    assert text_of(not_found, "status-error") == (
        "查無符合的申請。請確認申請編號與身分證字號是否正確。"
    )


def test_forgot_and_reset_password_forms(client, db_session):
    forgot = post_page(
        client, "/password/forgot", "/password/forgot", {"username": "", "email": "x"}
    ).get_data(as_text=True)
    assert summary(forgot) == ("請修正以下 2 個欄位", ["#username", "#email"])

    token = issue_reset_token(factories.account(state=AccountState.ACTIVE), 30)
    reset = post_page(
        client,
        f"/password/reset/{token}",
        f"/password/reset/{token}",
        {"password": "short", "password_confirm": "other"},
    ).get_data(as_text=True)
    heading, links = summary(reset)
    assert links[0] == "#password" and heading.startswith("請修正以下")
    assert text_of(reset, "password-cleared") == CLEARED
    assert text_of(reset, "password_confirm-cleared") == CLEARED
    # The meter speaks of the field as it is now: empty.
    assert text_of(reset, "password-strength") == "（尚未輸入）"


def test_my_account_summarises_the_refused_form_only(client, db_session):
    person = factories.account(state=AccountState.ACTIVE)
    login(client, person.username)
    refused = post_page(
        client,
        "/account",
        "/account/password",
        {
            "current_password": "Wrong*pass9x",
            "password": "Qv7#rLp2!mZe",
            "password_confirm": "Qv7#rLp2!mZe",
        },
    ).get_data(as_text=True)
    assert summary(refused) == ("請修正以下 1 個欄位", ["#current_password"])
    assert refused.count('class="error-summary"') == 1
    for field in ("current_password", "password", "password_confirm"):
        assert text_of(refused, f"{field}-cleared") == CLEARED
    # The strong password typed is gone, and so is its verdict.
    assert text_of(refused, "password-strength") == "（尚未輸入）"
    # The contact form also asks for the current password: nothing was typed into it.
    assert 'id="contact_current_password"' in refused
    assert text_of(refused, "contact_current_password-cleared") is None

    contact = post_page(
        client, "/account", "/account/contact", {"email": "nope", "phone": "12"}
    ).get_data(as_text=True)
    assert summary(contact) == ("請修正以下 2 個欄位", ["#email", "#phone"])
    assert CLEARED not in contact

    # A wrong current password on the contact form: only its own field says it was cleared.
    wrong = post_page(
        client,
        "/account",
        "/account/contact",
        {"email": "new@example.org", "phone": "02-12345678", "current_password": "Wrong*9x"},
    ).get_data(as_text=True)
    assert summary(wrong) == ("請修正以下 1 個欄位", ["#contact_current_password"])
    assert text_of(wrong, "contact_current_password-cleared") == CLEARED
    assert text_of(wrong, "current_password-cleared") is None


def test_staff_and_manager_change_forms(client, db_session):
    admin = factories.staff(StaffRole.PORTAL_ADMIN)
    login_staff(client, admin)
    staff = post_page(client, "/admin/staff/new", "/admin/staff/new", {"username": ""})
    heading, links = summary(staff.get_data(as_text=True))
    assert "#username" in links and "#role-field" in links
    assert 'id="role-field"' in staff.get_data(as_text=True)

    client.post("/logout", data={"csrf_token": csrf_token(client.get("/").get_data(as_text=True))})
    clinic = factories.institution()
    manager = factories.account(institution=clinic, role=Role.MANAGER, state=AccountState.ACTIVE)
    login(client, manager.username)
    change = post_page(client, "/manager-changes/new", "/manager-changes/new", {})
    heading, links = summary(change.get_data(as_text=True))
    assert change.status_code == 422 and "#kind-field" in links


@pytest.mark.parametrize(("count", "heading"), [(1, "1 field"), (2, "2 fields")])
def test_the_summary_in_english(client, count, heading):
    client.get("/language/en")
    data = {"username": "", "password": "x" if count == 1 else ""}
    html = post_page(client, "/login", "/login", data).get_data(as_text=True)
    assert summary(html)[0] == f"Please correct the following {heading}"
    if count == 1:
        assert text_of(html, "password-cleared") == (
            "For your security, please enter the password again."
        )
