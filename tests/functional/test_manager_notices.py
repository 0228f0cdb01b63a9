"""Unit managers are told of their general users' applications: at once, or once a day."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from portal.accounts.models import AccountState, Role
from portal.registration.models import Application, ApplicationState
from tests import factories
from tests.conftest import deliver_outbox
from tests.functional.test_registration import valid_form


@pytest.fixture
def clinic(db_session):
    return factories.institution(name="臺北測試診所")


@pytest.fixture
def managers(clinic):
    """Two active managers of the clinic, one deactivated, and a manager elsewhere."""
    first = factories.active_manager(clinic)
    second = factories.active_manager(clinic)
    factories.account(institution=clinic, role=Role.MANAGER, state=AccountState.DEACTIVATED)
    factories.active_manager(factories.institution())
    return first, second


def apply_as_general_user(client, clinic, db_session) -> Application:
    form = valid_form(client, institution_code=clinic.code, role="general", subsystems=[])
    assert client.post("/register", data=form).status_code == 303
    return db_session.scalar(select(Application).where(Application.institution_id == clinic.id))


def mail_to(messages, address):
    return [message for message in messages if message["To"] == address]


def test_immediately_every_active_manager_is_told(client, clinic, managers, db_session, smtp_sink):
    application = apply_as_general_user(client, clinic, db_session)
    messages = smtp_sink.wait_for(3)  # the applicant's receipt and one per active manager
    assert len(messages) == 3
    for manager in managers:
        [mail] = mail_to(messages, manager.email)
        assert "陳小明" in mail["Subject"] and application.application_no in mail["Subject"]
        body = mail.get_content()
        assert "陳小明" in body and application.application_no in body
        # The link is on the configured address, not the host the applicant's request named.
        assert "帳號審核" in body and "http://portal.test/manager/applications" in body
    assert len(mail_to(messages, "chen@example.org")) == 1


def test_a_manager_application_tells_no_manager(client, clinic, managers, smtp_sink):
    form = valid_form(client, institution_code=clinic.code, role="manager")
    assert client.post("/register", data=form).status_code == 303
    [receipt] = smtp_sink.wait_for(1)
    assert receipt["To"] == "chen@example.org"


def test_daily_nothing_is_sent_at_once(
    app, client, clinic, managers, db_session, smtp_sink, monkeypatch
):
    monkeypatch.setitem(app.config, "MANAGER_NOTICE", "daily")
    apply_as_general_user(client, clinic, db_session)
    [receipt] = smtp_sink.wait_for(1)
    assert receipt["To"] == "chen@example.org"


def test_the_daily_digest_lists_what_still_waits(
    app, client, clinic, managers, db_session, smtp_sink, monkeypatch
):
    monkeypatch.setitem(app.config, "MANAGER_NOTICE", "daily")
    morning = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    waiting = [
        factories.application(
            factories.account(institution=clinic, name=name), submitted_at=morning
        )
        for name in ("林一", "林二")
    ]
    factories.application(
        factories.account(institution=clinic, name="已核准者"), state=ApplicationState.APPROVED
    )
    # Waiting where nobody can decide yet: no manager to send to.
    factories.application(factories.account(name="無人審"))
    result = app.test_cli_runner().invoke(args=["manager-digest"])
    assert result.exit_code == 0, result.output
    assert "2" in result.output
    deliver_outbox(app)
    messages = smtp_sink.wait_for(2)
    assert sorted(m["To"] for m in messages) == sorted(m.email for m in managers)
    for mail in messages:
        assert "2 件" in mail["Subject"]
        body = mail.get_content()
        for application in waiting:
            assert application.application_no in body
        assert "林一" in body and "林二" in body and "2026-11-20" in body
        assert "已核准者" not in body and "無人審" not in body
        assert "http://portal.test/manager/applications" in body


def test_the_daily_digest_is_not_sent_when_nothing_waits(
    app, clinic, managers, smtp_sink, monkeypatch
):
    monkeypatch.setitem(app.config, "MANAGER_NOTICE", "daily")
    result = app.test_cli_runner().invoke(args=["manager-digest"])
    assert result.exit_code == 0 and "已排入 0 封" in result.output
    deliver_outbox(app)
    assert smtp_sink.messages == []


def test_the_digest_sends_nothing_when_managers_are_told_at_once(app, clinic, managers, smtp_sink):
    factories.application(factories.account(institution=clinic))
    result = app.test_cli_runner().invoke(args=["manager-digest"])
    assert result.exit_code == 0 and "immediate" in result.output
    deliver_outbox(app)
    assert smtp_sink.messages == []


def test_an_unknown_notice_mode_is_refused_at_start():
    from portal import create_app

    with pytest.raises(RuntimeError, match="MANAGER_NOTICE"):
        create_app("testing", {"MANAGER_NOTICE": "weekly"})


def test_the_digest_needs_the_portals_address(app, clinic, managers, smtp_sink, monkeypatch):
    monkeypatch.setitem(app.config, "MANAGER_NOTICE", "daily")
    monkeypatch.setitem(app.config, "EXTERNAL_BASE_URL", None)
    factories.application(factories.account(institution=clinic))
    result = app.test_cli_runner().invoke(args=["manager-digest"])
    assert result.exit_code != 0 and "EXTERNAL_BASE_URL" in result.output
    monkeypatch.undo()
    deliver_outbox(app)
    assert smtp_sink.messages == []
