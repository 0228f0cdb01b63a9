"""The outbox: mail is written with the decision, sent by the worker over real SMTP, retried
with backoff when the server is down, dead after the last try, and sent again by an
administrator; two workers never send one message twice; a rollback sends nothing."""

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from functools import partial

import pytest
import time_machine
from sqlalchemy import func, select

from portal.accounts.models import AccountState, Role, StaffRole
from portal.accounts.services import username_taken
from portal.audit.models import AuditEvent
from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import send_mail
from portal.outbox.models import OutboxMessage, OutboxState
from portal.outbox.services import claim_next
from portal.worker import run, run_once
from tests import factories
from tests.conftest import deliver_outbox
from tests.functional.auth_helpers import login_staff, post_form
from tests.functional.helpers import at_once, csrf_token, text_of
from tests.functional.test_registration import valid_form


@pytest.fixture
def person(db_session):
    return factories.account(
        state=AccountState.ACTIVE, username="lin.mail", email="lin@example.org"
    )


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as unlistened:
        unlistened.bind(("127.0.0.1", 0))
        yield unlistened.getsockname()[1]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that takes the connection and then never says a word, as a hung
    SMTP server does."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def ask_for_link(client):
    return post_form(
        client,
        "/password/forgot",
        "/password/forgot",
        {"username": "lin.mail", "email": "lin@example.org"},
    )


def messages_to(address: str) -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.recipient == address)
            .execution_options(populate_existing=True)
        )
    )


def test_the_request_queues_the_mail_and_the_worker_sends_it(app, client, person, smtp_sink):
    client.deliver_outbox = False
    assert ask_for_link(client).status_code == 200
    [queued] = messages_to("lin@example.org")
    assert queued.state is OutboxState.QUEUED and "/password/reset/" in queued.body
    assert smtp_sink.messages == []

    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0 and "寄出 1 封" in result.output, result.output
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "lin@example.org" and "重設密碼" in mail["Subject"]
    assert mail["Message-ID"].endswith("@portal.test>") and mail["Date"]
    [sent] = messages_to("lin@example.org")
    assert sent.state is OutboxState.SENT and sent.sent_at is not None
    assert sent.body == ""  # the reset link does not outlive its delivery


def test_a_hung_mail_server_does_not_slow_the_request(
    app, client, person, smtp_sink, silent_port, monkeypatch
):
    monkeypatch.setitem(app.config, "MAIL_PORT", silent_port)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT_SECONDS", 1)
    client.deliver_outbox = False
    started = time.perf_counter()
    assert ask_for_link(client).status_code == 200
    assert time.perf_counter() - started < 0.5  # the SMTP timeout alone is 1 s

    started = time.perf_counter()
    report = deliver_outbox(app)
    assert time.perf_counter() - started >= 1  # the worker, not the request, waited
    assert (report.sent, report.retrying, report.dead) == (0, 1, 0)
    [waiting] = messages_to("lin@example.org")
    assert waiting.state is OutboxState.QUEUED and waiting.attempts == 1
    assert "timed out" in waiting.last_error


def test_smtp_down_retries_with_backoff_then_dead_then_an_administrator_sends_it(
    app, client, person, smtp_sink, closed_port, monkeypatch
):
    monkeypatch.setitem(app.config, "MAIL_PORT", closed_port)
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    monkeypatch.setitem(app.config, "OUTBOX_RETRY_SECONDS", 60)
    with time_machine.travel(utcnow(), tick=False) as clock:
        # The client's own delivery after the request is the first try: refused.
        assert ask_for_link(client).status_code == 200
        [message] = messages_to("lin@example.org")
        assert (message.state, message.attempts) == (OutboxState.QUEUED, 1)
        assert "ConnectionRefusedError" in message.last_error

        clock.shift(timedelta(seconds=59))  # 60 s after the first failure: not yet
        assert deliver_outbox(app).retrying == 0
        clock.shift(timedelta(seconds=2))
        assert deliver_outbox(app).retrying == 1  # the second try
        clock.shift(timedelta(seconds=119))  # then twice as long
        assert deliver_outbox(app).retrying == 0
        clock.shift(timedelta(seconds=2))
        assert deliver_outbox(app).dead == 1  # the third and last try
        clock.shift(timedelta(days=1))
        assert deliver_outbox(app).dead == 0  # the dead are not tried again by themselves
        [message] = messages_to("lin@example.org")
        assert (message.state, message.attempts) == (OutboxState.DEAD, 3)

        # The mail server is repaired; a portal administrator sees the message and sends it.
        monkeypatch.setitem(app.config, "MAIL_PORT", smtp_sink.port)
        admin = factories.staff(StaffRole.PORTAL_ADMIN)
        assert login_staff(client, admin).status_code == 303
        page = client.get("/admin/outbox").get_data(as_text=True)
        assert text_of(page, "outbox-dead") == "1"
        row = text_of(page, f"dead-message-{message.id}")
        assert "lin@example.org" in row and "重設密碼連結" in row
        assert "ConnectionRefusedError" in row and "/password/reset/" not in page
        retried = client.post(
            f"/admin/outbox/{message.id}/retry", data={"csrf_token": csrf_token(page)}
        )
        assert retried.status_code == 303
        assert "已重新排入 1 封" in text_of(
            client.get(retried.headers["Location"]).get_data(as_text=True), "main"
        )
    [mail] = smtp_sink.wait_for(1)  # the client delivered after the retry, as a worker would
    assert mail["To"] == "lin@example.org" and "/password/reset/" in mail.get_content()
    [message] = messages_to("lin@example.org")
    assert message.state is OutboxState.SENT
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "outbox.retried"))
    assert event.actor_account_id == admin.id and event.subject_id == str(message.id)
    assert event.detail == {"recipient": "lin@example.org"}


def test_an_administrator_sends_every_dead_message_again_once(app, client, db_session, smtp_sink):
    client.deliver_outbox = False
    for number in range(3):
        send_mail(f"dead{number}@example.org", "通知", "內容")
    db.session.flush()
    db.session.execute(OutboxMessage.__table__.update().values(state=OutboxState.DEAD, attempts=8))
    admin = factories.staff(StaffRole.PORTAL_ADMIN)
    login_staff(client, admin)
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert text_of(page, "outbox-dead") == "3"
    first = client.post("/admin/outbox/retry", data={"csrf_token": csrf_token(page)})
    assert "已重新排入 3 封" in text_of(
        client.get(first.headers["Location"]).get_data(as_text=True), "main"
    )
    again = client.post("/admin/outbox/retry", data={"csrf_token": csrf_token(page)})
    assert "沒有需要重新寄送" in text_of(
        client.get(again.headers["Location"]).get_data(as_text=True), "main"
    )
    retried = db.session.scalar(select(func.count()).where(AuditEvent.action == "outbox.retried"))
    assert retried == 3
    assert deliver_outbox(app).sent == 3
    assert text_of(client.get("/admin/outbox").get_data(as_text=True), "no-dead-messages")
    assert sorted(m["To"] for m in smtp_sink.wait_for(3)) == [
        f"dead{n}@example.org" for n in range(3)
    ]


def test_only_portal_administrators_see_the_outbox(client, db_session):
    helpdesk = factories.staff(StaffRole.HELP_DESK)
    login_staff(client, helpdesk)
    assert client.get("/admin/outbox").status_code == 403
    page = client.get("/account").get_data(as_text=True)
    assert (
        client.post("/admin/outbox/retry", data={"csrf_token": csrf_token(page)}).status_code == 403
    )


def test_a_message_no_server_could_take_fails_like_any_other(app, db_session, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 1)
    with app.test_request_context():
        send_mail("a@example.org\nBcc: b@example.org", "標頭", "內容")
        db.session.commit()
    assert deliver_outbox(app).dead == 1
    [message] = messages_to("a@example.org\nBcc: b@example.org")
    assert message.state is OutboxState.DEAD and "linefeed" in message.last_error


def test_nothing_is_sent_for_a_transaction_that_rolled_back(app, db_session, smtp_sink):
    with app.test_request_context():
        send_mail("nobody@example.org", "不會寄出", "這封信與它的交易一起撤銷。")
        db.session.rollback()
    assert deliver_outbox(app).sent == 0
    assert messages_to("nobody@example.org") == []
    assert smtp_sink.messages == []


def test_an_application_that_loses_its_account_name_sends_no_receipt(
    app, client, db_session, smtp_sink, monkeypatch
):
    """The receipt is queued before the commit that fails on the name taken meanwhile: it
    is rolled back with the application, and only the refusal is shown."""
    clinic = factories.institution()
    factories.account(username="taken.meanwhile", email="first@example.org")
    form = valid_form(
        client,
        institution_code=clinic.code,
        username="taken.meanwhile",
        role=Role.MANAGER.value,
        email="second@example.org",
    )
    checks = []

    def free_when_first_checked(name: str) -> bool:
        checks.append(name)
        return len(checks) > 1 and username_taken(name)

    monkeypatch.setattr("portal.registration.services.username_taken", free_when_first_checked)
    response = client.post("/register", data=form)
    assert response.status_code == 409 and len(checks) == 2  # refused after the failed commit
    assert messages_to("second@example.org") == []
    assert smtp_sink.messages == []


def test_a_worker_that_died_mid_send_has_its_message_sent_after_the_lease(
    app, db_session, smtp_sink
):
    with app.test_request_context():
        send_mail("lease@example.org", "租約", "內容")
        db.session.commit()
    with time_machine.travel(utcnow(), tick=False) as clock:
        with app.app_context():
            assert claim_next(utcnow()) is not None  # and then the worker died
        assert deliver_outbox(app).sent == 0  # still claimed
        clock.shift(timedelta(seconds=app.config["MAIL_TIMEOUT_SECONDS"] * 10 + 1))
        assert deliver_outbox(app).sent == 1
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "lease@example.org"
    [message] = messages_to("lease@example.org")
    assert (message.state, message.attempts) == (OutboxState.SENT, 2)


def test_the_console_backend_writes_the_mail_to_the_log(
    app, db_session, smtp_sink, monkeypatch, caplog
):
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "console")
    with app.test_request_context():
        send_mail("console@example.org", "開發環境", "印在記錄裡")
        db.session.commit()
    assert deliver_outbox(app).sent == 1
    assert "console@example.org" in caplog.text and "印在記錄裡" in caplog.text
    assert smtp_sink.messages == []


def test_two_workers_at_once_send_each_message_once(live_app, smtp_sink):
    with live_app.app_context():
        for number in range(30):
            send_mail(f"race{number}@example.org", f"第 {number} 封", "內容")
        db.session.commit()
    reports = at_once(*(partial(run_once, live_app) for _ in range(3)))
    assert sum(report.sent for report in reports) == 30
    mails = smtp_sink.wait_for(30)
    time.sleep(0.2)  # a duplicate would have arrived by now
    assert len(smtp_sink.messages) == 30
    assert set(Counter(mail["Message-ID"] for mail in mails).values()) == {1}
    with live_app.app_context():
        states = db.session.execute(
            select(OutboxMessage.state, func.count(), func.max(OutboxMessage.attempts)).group_by(
                OutboxMessage.state
            )
        ).all()
    assert states == [(OutboxState.SENT, 30, 1)]


def test_the_worker_loop_sends_what_comes_and_stops_when_told(live_app, smtp_sink):
    stop = threading.Event()
    worker = threading.Thread(target=run, args=(live_app, stop))
    worker.start()
    try:
        with live_app.app_context():
            send_mail("loop@example.org", "背景寄送", "內容")
            db.session.commit()
        [mail] = smtp_sink.wait_for(1)
        assert mail["To"] == "loop@example.org"
    finally:
        stop.set()
        worker.join(timeout=5)
    assert not worker.is_alive()
