"""本機構使用者: a unit manager deactivates (with a reason) and reactivates general users."""

import pytest
from sqlalchemy import select

from portal.accounts.models import AccountState
from portal.audit.models import AuditEvent
from portal.auth.models import UserSession
from tests import factories
from tests.functional.auth_helpers import login, post_form
from tests.functional.helpers import text_of

HX = {"HX-Request": "true"}


@pytest.fixture
def clinic(db_session):
    return factories.institution()


@pytest.fixture
def manager(clinic):
    return factories.active_manager(clinic)


@pytest.fixture
def user(clinic):
    return factories.account(
        institution=clinic, state=AccountState.ACTIVE, name="王小華", email="wang@example.org"
    )


def deactivate(client, user_id, reason):
    action = f"/manager/users/{user_id}/deactivate"
    return post_form(client, "/manager/users", action, {"reason": reason})


def test_the_deactivate_button_asks_for_confirmation_first(client, manager, user):
    login(client, manager.username)
    users = client.get("/manager/users").get_data(as_text=True)
    assert f'href="/manager/users/{user.id}/deactivate"' in users
    assert f'hx-get="/manager/users/{user.id}/deactivate"' in users
    # Following the link changes nothing: it only asks.
    page = client.get(f"/manager/users/{user.id}/deactivate")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "<html" in html
    assert "王小華" in text_of(html, "deactivate-question")
    assert 'aria-describedby="reason-error reason-hint"' in html
    assert user.state is AccountState.ACTIVE
    assert "HX-Request" in page.headers["Vary"]


def test_the_confirmation_loads_into_the_row_with_htmx(client, manager, user):
    login(client, manager.username)
    fragment = client.get(f"/manager/users/{user.id}/deactivate", headers=HX)
    html = fragment.get_data(as_text=True)
    assert html.lstrip().startswith(f'<div id="user-{user.id}-actions"')
    assert "<html" not in html
    # The form inside posts normally, so it works the same with or without JavaScript.
    assert f'action="/manager/users/{user.id}/deactivate"' in html and "hx-post" not in html
    assert "HX-Request" in fragment.headers["Vary"]


@pytest.mark.parametrize(
    ("reason", "message"),
    [("", "請填寫停用原因"), ("   ", "請填寫停用原因"), ("長" * 201, "最多 200")],
)
def test_a_reason_is_required_and_short(client, manager, user, db_session, reason, message):
    login(client, manager.username)
    response = deactivate(client, user.id, reason)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in text_of(html, "reason-error")
    if reason.strip():
        assert reason in html  # what was typed is kept
    db_session.expire_all()
    assert user.state is AccountState.ACTIVE


def test_deactivation_ends_sessions_records_the_reason_and_tells_the_person(
    app, client, manager, user, db_session, smtp_sink
):
    elsewhere = app.test_client()
    login(elsewhere, user.username)
    assert elsewhere.get("/account").status_code == 200
    login(client, manager.username)
    response = deactivate(client, user.id, "已離職")
    assert response.status_code == 303 and response.headers["Location"] == "/manager/users"
    assert "已停用 王小華 的帳號" in client.get("/manager/users").get_data(as_text=True)
    db_session.expire_all()
    assert user.state is AccountState.DEACTIVATED
    open_sessions = db_session.scalars(
        select(UserSession).where(UserSession.account_id == user.id, UserSession.ended_at.is_(None))
    ).all()
    assert open_sessions == []
    assert elsewhere.get("/account").status_code == 302
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "account.deactivated"))
    assert event.actor_account_id == manager.id and event.detail == {"reason": "已離職"}
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "wang@example.org" and "停用" in mail["Subject"]
    assert "原因：已離職" in mail.get_content()


def test_an_already_deactivated_account_is_not_deactivated_again(
    client, manager, clinic, db_session, smtp_sink
):
    gone = factories.account(institution=clinic, state=AccountState.DEACTIVATED)
    login(client, manager.username)
    page = client.get(f"/manager/users/{gone.id}/deactivate")
    assert page.status_code == 303
    # With HTMX, the list is loaded as a page rather than swapped into the row.
    fragment = client.get(f"/manager/users/{gone.id}/deactivate", headers=HX)
    assert fragment.status_code == 204 and fragment.headers["HX-Redirect"] == "/manager/users"
    response = deactivate(client, gone.id, "重複")
    assert response.status_code == 303
    assert "這個帳號已經停用" in client.get("/manager/users").get_data(as_text=True)
    assert smtp_sink.messages == []


def test_another_institutions_user_cannot_be_deactivated(client, user, db_session):
    stranger = factories.active_manager(factories.institution())
    login(client, stranger.username)
    assert client.get(f"/manager/users/{user.id}/deactivate").status_code == 404
    assert deactivate(client, user.id, "不是我的人").status_code == 404
    db_session.expire_all()
    assert user.state is AccountState.ACTIVE


def reactivate(client, user_id):
    return post_form(client, "/manager/users", f"/manager/users/{user_id}/reactivate", {})


def test_a_deactivated_user_is_reactivated_and_told(client, manager, clinic, db_session, smtp_sink):
    gone = factories.account(
        institution=clinic, state=AccountState.DEACTIVATED, username="lee.back", email="l@x.org"
    )
    login(client, manager.username)
    users = client.get("/manager/users").get_data(as_text=True)
    assert f'action="/manager/users/{gone.id}/reactivate"' in users and "重新啟用" in users
    response = reactivate(client, gone.id)
    assert response.status_code == 303
    assert "已重新啟用" in client.get("/manager/users").get_data(as_text=True)
    db_session.expire_all()
    assert gone.state is AccountState.ACTIVE
    event = db_session.scalar(select(AuditEvent).where(AuditEvent.action == "account.reactivated"))
    assert event.actor_account_id == manager.id and event.subject_id == str(gone.id)
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "l@x.org" and "重新啟用" in mail["Subject"]
    assert "http://portal.test/login" in mail.get_content()
    assert login(client.application.test_client(), "lee.back").status_code == 303


def test_only_deactivated_accounts_are_reactivated(client, manager, user, clinic, db_session):
    refused = factories.account(institution=clinic, state=AccountState.REFUSED)
    login(client, manager.username)
    users = client.get("/manager/users").get_data(as_text=True)
    assert f"/manager/users/{user.id}/reactivate" not in users
    for account in (user, refused):
        assert reactivate(client, account.id).status_code == 303
    assert "不是停用中的帳號" in client.get("/manager/users").get_data(as_text=True)
    db_session.expire_all()
    assert (user.state, refused.state) == (AccountState.ACTIVE, AccountState.REFUSED)
    assert (
        db_session.scalar(select(AuditEvent).where(AuditEvent.action == "account.reactivated"))
        is None
    )


def test_another_institutions_user_cannot_be_reactivated(client, db_session):
    gone = factories.account(state=AccountState.DEACTIVATED)
    login(client, factories.active_manager(factories.institution()).username)
    assert reactivate(client, gone.id).status_code == 404
    db_session.expire_all()
    assert gone.state is AccountState.DEACTIVATED
