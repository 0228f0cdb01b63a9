"""Refusals of HTMX requests: a message for the page's error banner, never a whole page.

The browser side (htmx swapping 4xx answers, app.js showing 5xx failures) is driven in
tests/browser/test_htmx_errors.py; here, what the server answers.
"""

import json
import re
from html import unescape

from portal.accounts.models import AccountState, Role
from portal.auth.passwords import issue_reset_token
from tests import factories
from tests.functional.auth_helpers import login
from tests.functional.helpers import csrf_token, text_of

HX = {"HX-Request": "true"}


def banner_message(response) -> str:
    """The message of an answer meant for the error banner; checks that it is one."""
    html = response.get_data(as_text=True)
    assert "<html" not in html
    assert response.headers["HX-Retarget"] == "#request-error"
    assert response.headers["HX-Reswap"] == "innerHTML"
    assert response.headers["HX-Reselect"] == ".request-error-message"
    assert "HX-Request" in response.headers["Vary"]
    match = re.fullmatch(r'\s*<p class="request-error-message">(.*)</p>\s*', html, re.S)
    assert match, html
    return unescape(match.group(1))


def test_every_page_tells_htmx_to_swap_refusals_and_has_the_banner(client):
    html = client.get("/applications/status").get_data(as_text=True)
    config = json.loads(unescape(re.search(r'name="htmx-config" content=\'([^\']+)\'', html)[1]))
    rules = config["responseHandling"]
    refusal = next(rule for rule in rules if re.fullmatch(rule["code"], "422"))
    failure = next(rule for rule in rules if re.fullmatch(rule["code"], "500"))
    assert refusal == {"code": "4..", "swap": True, "error": False}
    assert failure["swap"] is False and failure["error"] is True
    assert next(rule for rule in rules if re.fullmatch(rule["code"], "204"))["swap"] is False
    assert 'id="request-error" role="alert"' in html
    assert 'data-server-error="系統暫時無法處理這個要求，請稍後再試一次。"' in html


def test_too_many_lookups_answer_htmx_with_a_banner_message(app, client):
    app.config["RATELIMIT_STATUS_LOOKUP"] = "1 per minute"
    try:
        token = csrf_token(client.get("/applications/status").get_data(as_text=True))
        data = {"csrf_token": token, "application_no": "12345678901234", "national_id": "A123"}
        assert client.post("/applications/status", data=data, headers=HX).status_code == 422
        refused = client.post("/applications/status", data=data, headers=HX)
    finally:
        app.config["RATELIMIT_STATUS_LOOKUP"] = "10 per minute;50 per day"
    assert refused.status_code == 429
    # The message, and when to try again.
    message = banner_message(refused)
    assert message.startswith('短時間內的操作次數過多，請稍候再試。 <span id="retry-at">')
    assert re.fullmatch(
        r"請於 (\d{4}-\d{2}-\d{2} )?\d{2}:\d{2} 後再試。", text_of(message, "retry-at")
    )


def test_an_expired_form_token_answers_htmx_with_reload_and_a_page_otherwise(client):
    data = {"csrf_token": "expired", "application_no": "12345678901234", "national_id": "x"}
    refused = client.post("/applications/status", data=data, headers=HX)
    assert refused.status_code == 400
    assert banner_message(refused) == "這一頁已過期，請重新整理後再試一次。"

    page = client.post("/applications/status", data=data)
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "<html" in html and "HX-Retarget" not in page.headers
    assert "頁面已過期" in text_of(html, "main")


def test_a_row_no_longer_in_scope_answers_htmx_with_not_found(client, db_session):
    clinic = factories.institution()
    manager = factories.account(institution=clinic, role=Role.MANAGER, state=AccountState.ACTIVE)
    other = factories.account(state=AccountState.ACTIVE)  # of another institution
    login(client, manager.username)
    refused = client.get(f"/manager/users/{other.id}/deactivate", headers=HX)
    assert refused.status_code == 404
    assert banner_message(refused) == "找不到這個頁面或資料。"
    page = client.get(f"/manager/users/{other.id}/deactivate")
    assert page.status_code == 404 and "<html" in page.get_data(as_text=True)


def test_a_page_of_another_role_answers_htmx_with_no_permission(client, db_session):
    person = factories.account(state=AccountState.ACTIVE)
    login(client, person.username)
    refused = client.get("/review?page=2&after=x", headers=HX)
    assert refused.status_code == 403
    assert banner_message(refused) == "您沒有使用這項功能的權限。"


def test_signed_out_htmx_request_sends_the_browser_to_sign_in_and_back(client, db_session):
    response = client.get(
        "/review?page=2&after=x",
        headers={**HX, "HX-Current-URL": "http://localhost/review?kind=promote"},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/login?next=%2Freview%3Fkind%3Dpromote"
    assert "請先登入。" in text_of(client.get("/login").get_data(as_text=True), "main")

    # Without HTMX, the same as before: a redirect with the page itself as `next`.
    page = client.get("/review?kind=promote")
    assert page.status_code == 302
    assert page.headers["Location"] == "/login?next=%2Freview%3Fkind%3Dpromote"


def test_meter_of_a_spent_reset_link_answers_htmx_with_the_reason(client, db_session):
    token = issue_reset_token(factories.account(state=AccountState.ACTIVE), 30)
    page = client.get(f"/password/reset/{token}").get_data(as_text=True)
    client.post(
        f"/password/reset/{token}",
        data={
            "csrf_token": csrf_token(page),
            "password": "Qv7#rLp2!mZe",
            "password_confirm": "Qv7#rLp2!mZe",
        },
    )
    refused = client.post(
        f"/password/strength?token={token}",
        data={"password": "abc"},
        headers={**HX, "X-CSRFToken": csrf_token(page)},
    )
    assert refused.status_code == 410
    assert banner_message(refused) == "這個重設密碼連結已失效（已使用或超過時效）。請重新申請。"
