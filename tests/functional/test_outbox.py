"""The outbox: mail is written with the decision, sent by the worker over real SMTP, retried
with backoff when the server is down, dead after the last try; two workers never send one
message twice; a rollback sends nothing."""

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

from portal.accounts.models import AccountState, Role
from portal.accounts.services import username_taken
from portal.db_types import utcnow
from portal.extensions import db
from portal.mail import send_mail
from portal.outbox.models import OutboxMessage, OutboxState
from portal.outbox.services import claim_next
from portal.worker import run, run_once
from tests import factories
from tests.conftest import deliver_outbox
from tests.functional.auth_helpers import post_form
from tests.functional.helpers import at_once
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


def test_smtp_down_retries_with_backoff_then_the_message_is_dead(
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
