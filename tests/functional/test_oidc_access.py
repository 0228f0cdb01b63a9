"""Who gets a code: the access page, asking, 我的子系統, administrators' decisions, sign-outs."""

from urllib.parse import unquote

from sqlalchemy import select

from portal.accounts.models import AccountState, StaffRole
from portal.audit.models import AuditEvent
from portal.oidc.models import DeliveryState, LogoutDelivery, OidcLogin
from portal.subsystems.models import RequestState, SubsystemRequest
from tests import factories
from tests.functional.auth_helpers import login, login_staff, logout, post_form
from tests.functional.helpers import csrf_token, text_of
from tests.functional.oidc_helpers import (
    authorize_url,
    code_for,
    exchange,
    grant,
    person,
    pkce,
    redirect_params,
    refresh,
    register,
)


def _access_page(client, rp):
    answer = client.get(authorize_url(rp, pkce()))
    assert answer.status_code == 403 and "Location" not in answer.headers
    return answer.get_data(as_text=True)


def test_never_asked_shows_a_page_offering_to_ask(client):
    account = person(subsystem=None)
    rp = register()
    login(client, account.username)
    page = _access_page(client, rp)
    assert 'data-access="never_asked"' in page and "尚未申請" in page
    assert 'id="ask-form"' in page


def test_waiting_refused_and_revoked_each_say_what_is_missing(client, db_session):
    rp = register()
    cases = (
        (RequestState.PENDING, {}, "正待子系統管理者審核"),
        (RequestState.REFUSED, {"refusal_reason": "非本院戒菸門診人員"}, "非本院戒菸門診人員"),
        (RequestState.REVOKED, {"refusal_reason": "已離職"}, "撤銷"),
    )
    for state, values, words in cases:
        account = person(subsystem=None)
        grant(account, "cessation", state=state, **values)
        login(client, account.username)
        page = _access_page(client, rp)
        assert words in page
        assert ('id="ask-form"' in page) is (state is not RequestState.PENDING)
        logout(client)


def test_a_deactivated_account_gets_no_code_and_no_token(client, db_session):
    account = person()
    rp = register()
    login(client, account.username)
    challenge = pkce()
    code = code_for(client, rp, challenge)
    account.state = AccountState.DEACTIVATED
    db_session.flush()
    answer = exchange(client, rp, code, challenge.verifier)
    assert answer.status_code == 400 and answer.get_json()["error"] == "invalid_grant"


def test_asking_from_the_access_page_then_resuming_once_granted(client, db_session):
    account = person(subsystem=None)
    rp = register()
    login(client, account.username)
    challenge = pkce()
    wanted = authorize_url(rp, challenge, state="back-to-records")
    page = client.get(wanted).get_data(as_text=True)
    empty = post_form(
        client,
        wanted,
        "/my-subsystems/ask",
        {"subsystem": "cessation", "justification": "  ", "resume": wanted},
    )
    assert empty.status_code == 422
    assert "請簡短說明" in text_of(empty.get_data(as_text=True), "justification-error")
    asked = client.post(
        "/my-subsystems/ask",
        data={
            "csrf_token": csrf_token(page),
            "subsystem": "cessation",
            "justification": "本院戒菸門診個案登錄",
            "resume": wanted,
        },
    )
    assert (
        asked.status_code == 303
        and unquote(asked.headers["Location"]).endswith("state=back-to-records")
        or "back-to-records" in asked.headers["Location"]
    )
    assert "正待子系統管理者審核" in client.get(wanted).get_data(as_text=True)
    item = db_session.scalar(
        select(SubsystemRequest).where(SubsystemRequest.account_id == account.id)
    )
    assert item.state is RequestState.PENDING and item.justification == "本院戒菸門診個案登錄"
    item.state = RequestState.APPROVED
    db_session.flush()
    opened = client.get("/my-subsystems/cessation/open")
    assert opened.status_code == 303 and opened.headers["Location"].startswith("/oidc/authorize?")
    params = redirect_params(client.get(opened.headers["Location"]))
    assert params["state"] == "back-to-records" and "code" in params
    # Used once: the next 開啟 goes to the subsystem's own sign-in address.
    again = client.get("/my-subsystems/cessation/open")
    assert again.headers["Location"].startswith("https://rp.example.gov.tw/login?iss=")


def test_my_subsystems_lists_opens_asks_and_withdraws(client, db_session):
    account = person(subsystem="cessation")
    grant(account, "oral-cancer", state=RequestState.REFUSED, refusal_reason="非口腔黏膜篩檢院所")
    register()
    login(client, account.username)
    home = client.get("/account").get_data(as_text=True)
    assert 'id="open-cessation"' in home and "非口腔黏膜篩檢院所" in home
    assert 'id="open-oral-cancer"' not in home
    asked = post_form(
        client,
        "/account",
        "/my-subsystems/ask",
        {"subsystem": "child-health", "justification": "兒童預防保健"},
    )
    assert asked.status_code == 303
    home = client.get("/account").get_data(as_text=True)
    assert 'id="withdraw-child-health"' in home
    item = db_session.scalar(
        select(SubsystemRequest).where(
            SubsystemRequest.account_id == account.id,
            SubsystemRequest.justification == "兒童預防保健",
        )
    )
    item_id = item.id
    withdrawn = post_form(client, "/account", f"/my-subsystems/{item_id}/withdraw", {})
    assert withdrawn.status_code == 303
    db_session.expunge_all()
    assert db_session.get(SubsystemRequest, item_id) is None
    assert "child-health" in client.get("/account").get_data(as_text=True)  # askable again
    opened = client.get("/my-subsystems/cessation/open")
    assert opened.headers["Location"] == (
        "https://rp.example.gov.tw/login?iss=http%3A%2F%2Fportal.test"
    )


def test_asking_with_no_justification_keeps_the_choice(client):
    account = person(subsystem=None)
    login(client, account.username)
    refused = post_form(
        client, "/account", "/my-subsystems/ask", {"subsystem": "child-health", "justification": ""}
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "請簡短說明" in text_of(page, "justification-error")
    assert '<option value="child-health" selected>' in page


def test_someone_elses_request_cannot_be_withdrawn(client, db_session):
    other = person(subsystem=None)
    item = grant(other, "cessation", state=RequestState.PENDING)
    account = person(subsystem=None)
    login(client, account.username)
    answer = post_form(client, "/account", f"/my-subsystems/{item.id}/withdraw", {})
    assert answer.status_code == 404
    assert db_session.get(SubsystemRequest, item.id) is not None


def _mail_to(sink, address: str) -> list:
    return [message for message in sink.messages if message["To"] == address]


def _admin(client):
    admin = factories.staff(StaffRole.SUBSYSTEM_ADMIN, ("cessation",))
    login_staff(client, admin)
    return admin


def test_subsystem_admin_lands_on_requests_and_sees_inactive_apart(client):
    waiting = person(subsystem=None)
    grant(waiting, "cessation", state=RequestState.PENDING, justification="個案登錄")
    not_active = factories.account()
    grant(not_active, "cessation", state=RequestState.PENDING)
    admin = factories.staff(StaffRole.SUBSYSTEM_ADMIN, ("cessation",))
    landed = login_staff(client, admin)
    assert landed.headers["Location"].endswith("/subsystem-admin/requests")
    page = client.get("/subsystem-admin/requests").get_data(as_text=True)
    main, inactive = page.split('id="inactive-requests"')
    assert waiting.username in main and "個案登錄" in main
    assert waiting.institution.code in main and "一般使用者" in main
    assert not_active.username in inactive and not_active.username not in main


def test_a_refusal_needs_a_reason_and_the_person_is_told(client, db_session, smtp_sink):
    account = person(subsystem=None)
    item = grant(account, "cessation", state=RequestState.PENDING)
    _admin(client)
    page = f"/subsystem-admin/requests/{item.id}"
    bare = post_form(client, page, f"{page}/refuse", {"reason": ""})
    assert bare.status_code == 422 and "請填寫不核准的原因" in bare.get_data(as_text=True)
    refused = post_form(client, page, f"{page}/refuse", {"reason": "非本院人員"})
    assert refused.status_code == 303
    db_session.expire_all()
    assert item.state is RequestState.REFUSED and item.refusal_reason == "非本院人員"
    mail = _mail_to(smtp_sink, account.email)
    assert mail and "非本院人員" in mail[-1].get_content()


def test_an_inactive_account_cannot_be_approved(client, db_session):
    account = factories.account()
    item = grant(account, "cessation", state=RequestState.PENDING)
    _admin(client)
    page = f"/subsystem-admin/requests/{item.id}"
    answer = post_form(client, page, f"{page}/approve", {})
    assert answer.status_code == 409 and item.state is RequestState.PENDING


def test_approve_several_at_once_and_each_person_is_told(client, db_session, smtp_sink):
    people = [person(subsystem=None) for _ in range(3)]
    items = [grant(p, "cessation", state=RequestState.PENDING) for p in people]
    inactive_item = grant(factories.account(), "cessation", state=RequestState.PENDING)
    _admin(client)
    answer = post_form(
        client,
        "/subsystem-admin/requests",
        "/subsystem-admin/requests/approve",
        {"request_ids": [str(i.id) for i in (*items, inactive_item)]},
    )
    assert answer.status_code == 303
    db_session.expire_all()
    assert all(i.state is RequestState.APPROVED for i in items)
    assert inactive_item.state is RequestState.PENDING
    for p in people:
        assert any("已核准" in m["Subject"] for m in _mail_to(smtp_sink, p.email))


def test_revoking_access_ends_the_subsystem_session_and_its_tokens(client, db_session, app):
    account = person()
    rp = register(backchannel_logout_uri="https://rp.example.gov.tw/backchannel-logout")
    login(client, account.username)
    challenge = pkce()
    tokens = exchange(client, rp, code_for(client, rp, challenge), challenge.verifier).get_json()
    logout(client)
    item = db_session.scalar(
        select(SubsystemRequest).where(SubsystemRequest.account_id == account.id)
    )
    _admin(client)
    page = f"/subsystem-admin/requests/{item.id}"
    post_form(client, page, f"{page}/revoke", {"reason": "已離職"})
    db_session.expire_all()
    assert item.state is RequestState.REVOKED
    assert refresh(client, rp, tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.get("/oidc/userinfo", headers=bearer).status_code == 401
    assert db_session.scalar(
        select(AuditEvent).where(AuditEvent.action == "subsystem_request.revoked")
    )


def _deliveries(db_session, account) -> list[LogoutDelivery]:
    return list(
        db_session.scalars(select(LogoutDelivery).where(LogoutDelivery.subject == account.subject))
    )


def test_sign_out_queues_a_logout_token_for_each_subsystem_signed_in(client, db_session):
    account = person()
    grant(account, "oral-cancer")
    first = register(backchannel_logout_uri="https://rp.example.gov.tw/bc")
    second = register("oral-cancer", backchannel_logout_uri="https://oral.example.gov.tw/bc")
    login(client, account.username)
    for rp in (first, second):
        challenge = pkce()
        exchange(client, rp, code_for(client, rp, challenge), challenge.verifier)
    logout(client)
    queued = _deliveries(db_session, account)
    assert {d.client.client_id for d in queued} == {first.client_id, second.client_id}
    assert all(d.reason == "sign_out" for d in queued)
    logins = db_session.scalars(select(OidcLogin).where(OidcLogin.account_id == account.id))
    assert all(login_.ended_at is not None for login_ in logins)
    # The relying parties are not running: the worker keeps each for a retry.
    assert all(d.state is DeliveryState.QUEUED and d.attempts >= 1 for d in queued)


def _signed_in_to(client, rp) -> None:
    challenge = pkce()
    exchange(client, rp, code_for(client, rp, challenge), challenge.verifier)


def test_a_password_change_queues_logout_tokens(client, db_session):
    account = person()
    rp = register(backchannel_logout_uri="https://rp.example.gov.tw/bc")
    login(client, account.username)
    _signed_in_to(client, rp)
    new = "Nw8*pl~Qz!r5"
    changed = post_form(
        client,
        "/account",
        "/account/password",
        {"current_password": factories.STRONG_PASSWORD, "password": new, "password_confirm": new},
    )
    assert changed.status_code == 303
    assert [d.reason for d in _deliveries(db_session, account)] == ["password_changed"]


def test_a_deactivation_queues_logout_tokens(client, db_session):
    account = person()
    rp = register(backchannel_logout_uri="https://rp.example.gov.tw/bc")
    login(client, account.username)
    _signed_in_to(client, rp)
    from portal.audit.services import Origin
    from portal.manager.services import deactivate_user

    manager = factories.active_manager(account.institution)
    deactivate_user(manager, account.id, "離職", Origin("test"))
    assert [d.reason for d in _deliveries(db_session, account)] == ["deactivated"]
    assert client.get("/account").status_code == 302


def test_rp_initiated_logout_with_an_id_token_hint(client, db_session):
    account = person()
    rp = register()
    login(client, account.username)
    challenge = pkce()
    tokens = exchange(client, rp, code_for(client, rp, challenge), challenge.verifier).get_json()
    answer = client.get(
        "/oidc/logout?"
        + f"id_token_hint={tokens['id_token']}"
        + "&post_logout_redirect_uri=https%3A%2F%2Frp.example.gov.tw%2Fsigned-out&state=bye"
    )
    assert answer.status_code == 302
    assert answer.headers["Location"] == "https://rp.example.gov.tw/signed-out?state=bye"
    assert client.get("/account").status_code == 302  # signed out of the portal


def test_rp_initiated_logout_without_a_hint_asks_first_and_never_redirects_elsewhere(client):
    account = person()
    rp = register()
    login(client, account.username)
    url = (
        f"/oidc/logout?client_id={rp.client_id}"
        "&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F"
    )
    page = client.get(url)
    assert page.status_code == 200 and 'id="confirm-logout"' in page.get_data(as_text=True)
    assert client.get("/account").status_code == 200  # not signed out by a mere link
    confirmed = client.post(
        "/oidc/logout",
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "confirm": "yes",
            "client_id": rp.client_id,
            "post_logout_redirect_uri": "https://evil.example/",
        },
    )
    assert confirmed.status_code == 303 and confirmed.headers["Location"].endswith(
        "/oidc/logged-out"
    )
    assert client.get("/account").status_code == 302
