"""Observability: a request id on every answer that reaches the audit trail, the queued mail
and the worker's log; JSON logs; Prometheus metrics for the monitoring network only;
liveness and readiness."""

import io
import json
import logging
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event, select

from portal.accounts.models import AccountState, Role, StaffRole
from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.mail import send_mail
from portal.observability.logs import JsonLogFormatter
from portal.outbox.models import OutboxMessage, OutboxState
from portal.registration.models import ApplicationState
from portal.schedule.models import ScheduledRun
from tests import factories
from tests.conftest import deliver_outbox, make_app
from tests.functional.auth_helpers import login_staff
from tests.functional.helpers import csrf_token, text_of

OFFERED_ID = "3f2a9c0d5e6b4a718293a4b5c6d7e8f9"


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The portal's log records as JSON lines, INFO and up."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonLogFormatter())
    logger = logging.getLogger("portal")
    saved_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(saved_level)


def log_lines(stream: io.StringIO) -> list[dict]:
    """Every line is one JSON object."""
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def scrape(client, **kwargs) -> dict[tuple[str, tuple], float]:
    """/metrics as {(sample name, sorted labels): value}."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/plain"
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_every_answer_carries_a_fresh_request_id(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/login").headers["X-Request-ID"]
    missing = client.get("/no-such-page").headers["X-Request-ID"]
    for request_id in (first, second, missing):
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert len({first, second, missing}) == 3


@pytest.mark.parametrize(
    ("offered", "kept"),
    [
        (OFFERED_ID, True),
        ("7b6f1c2e-8d4a-4f3b-9e2d-1a0b9c8d7e6f", True),  # a UUID
        ("short", False),
        ("<script>alert(1)</script>", False),
        ("a" * 65, False),
        ("id with spaces 1234", False),
    ],
)
def test_an_offered_request_id_is_kept_only_when_it_is_a_sane_token(client, offered, kept):
    answered = client.get("/healthz", headers={"X-Request-ID": offered}).headers["X-Request-ID"]
    assert (answered == offered) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", answered)


def test_the_request_id_reaches_the_audit_event_and_its_page(client, db_session):
    person = factories.account(state=AccountState.ACTIVE, username="lin.audit")
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"csrf_token": csrf_token(page), "username": "lin.audit", "password": "wrong"},
        headers={"X-Request-ID": OFFERED_ID},
    )
    assert response.status_code == 401 and response.headers["X-Request-ID"] == OFFERED_ID
    failure = db_session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "login.failed", AuditEvent.actor_account_id == person.id
        )
    )
    assert failure.request_id == OFFERED_ID
    admin = factories.staff(StaffRole.PORTAL_ADMIN)
    login_staff(client, admin)
    html = client.get(f"/admin/audit/{failure.id}").get_data(as_text=True)
    assert text_of(html, "audit-request-id") == OFFERED_ID


def test_the_request_id_reaches_the_queued_mail_and_the_workers_log(
    app, client, db_session, smtp_sink, json_log
):
    client.deliver_outbox = False
    factories.account(state=AccountState.ACTIVE, username="lin.mail", email="lin@example.org")
    page = client.get("/password/forgot").get_data(as_text=True)
    client.post(
        "/password/forgot",
        data={"csrf_token": csrf_token(page), "username": "lin.mail", "email": "lin@example.org"},
        headers={"X-Request-ID": OFFERED_ID},
    )
    [message] = db_session.scalars(select(OutboxMessage)).all()
    assert message.request_id == OFFERED_ID
    deliver_outbox(app)
    smtp_sink.wait_for(1)
    [sent] = [line for line in log_lines(json_log) if line["logger"] == "portal.outbox.services"]
    assert sent["message"] == f"outbox: message {message.id} sent (try 1)"
    assert sent["request_id"] == OFFERED_ID and sent["level"] == "INFO"


def test_each_request_logs_one_json_line_with_its_route_never_its_path(client, json_log):
    token = "Zx9-secret-reset-token"
    response = client.get(f"/password/reset/{token}", headers={"X-Request-ID": OFFERED_ID})
    client.get("/healthz")  # probes are not logged
    [line] = [line for line in log_lines(json_log) if line["logger"] == "portal.access"]
    assert line["route"] == "/password/reset/<token>"
    assert line["method"] == "GET" and line["status"] == response.status_code
    assert line["request_id"] == OFFERED_ID and line["level"] == "INFO"
    assert line["duration_ms"] >= 0 and line["remote_addr"] == "127.0.0.1"
    assert datetime.fromisoformat(line["time"]).tzinfo is not None
    assert token not in json_log.getvalue()


def test_logging_is_set_up_as_json_or_text_on_standard_error(capsys):
    from portal.observability.logs import configure_logging
    from portal.observability.request_ids import request_id_set

    root, portal_logger = logging.getLogger(), logging.getLogger("portal")
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_portal_level = portal_logger.level
    try:
        configure_logging("json", "INFO")
        configure_logging("json", "INFO")  # a second app in the process: still one handler
        with request_id_set(OFFERED_ID):
            logging.getLogger("portal.example").info("工作完成 %s", 3, extra={"job": "purge"})
            logging.getLogger("weasyprint.progress").info("a library's chatter")
        [line] = capsys.readouterr().err.splitlines()
        record = json.loads(line)
        assert record["message"] == "工作完成 3" and record["job"] == "purge"
        assert record["request_id"] == OFFERED_ID and record["logger"] == "portal.example"
        configure_logging("text", "WARNING")
        logging.getLogger("portal.example").info("not shown")
        logging.getLogger("portal.example").warning("shown")
        [line] = capsys.readouterr().err.splitlines()
        assert line.endswith("WARNING portal.example [-] shown")
    finally:
        for handler in list(root.handlers):
            if handler not in saved_handlers:
                root.removeHandler(handler)
        root.setLevel(saved_level)
        portal_logger.setLevel(saved_portal_level)


def test_an_unknown_log_format_is_refused_at_start():
    from portal import create_app

    with pytest.raises(RuntimeError, match="LOG_FORMAT"):
        create_app("testing", {"LOG_FORMAT": "xml"})


def test_liveness_answers_without_touching_the_database(app):
    statements = []
    with app.app_context():
        engine = db.engine
    record = lambda *args, **kwargs: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", record)
    client = app.test_client()
    client.deliver_outbox = False  # the test client's stand-in worker reads the outbox
    try:
        response = client.get("/healthz")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok\n"
    assert response.headers["Cache-Control"] == "no-store"
    assert statements == []


def test_ready_when_the_database_answers_and_the_outbox_is_not_backed_up(
    app, client, db_session, monkeypatch
):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {
        "ready": True,
        "checks": {"database": "ok", "redis": "not_configured", "outbox": "ok"},
    }
    monkeypatch.setitem(app.config, "READY_MAX_QUEUED_MAIL", 2)
    with app.test_request_context():
        for number in range(3):
            send_mail(f"q{number}@example.org", "排隊", "內容")
        db.session.flush()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["outbox"] == "failed" and response.json["ready"] is False


def closed_port() -> int:
    with socket.socket() as unlistened:
        unlistened.bind(("127.0.0.1", 0))
        return unlistened.getsockname()[1]


def test_ready_only_while_redis_answers_when_the_rate_limits_use_it(
    app, client, db_session, monkeypatch
):
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/15")
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json["checks"]["redis"] == "ok"
    down = f"redis://127.0.0.1:{closed_port()}/0"
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", down)
    response = client.get("/readyz")
    assert response.status_code == 503 and response.json["checks"]["redis"] == "failed"


def test_not_ready_when_the_database_does_not_answer(tmp_path):
    unreachable = make_app(f"sqlite:///{tmp_path}/no-such-folder/portal.db")
    client = unreachable.test_client()
    client.deliver_outbox = False
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"] == {
        "database": "failed",
        "redis": "not_configured",
        "outbox": "failed",
    }
    # Liveness is not readiness: the process still answers.
    assert client.get("/healthz").status_code == 200


def test_metrics_count_requests_by_route_and_status(client, db_session):
    before = scrape(client)
    client.get("/review/4242")
    client.get("/no-such-page")
    client.get("/no-such-page-either")
    after = scrape(client)

    def grew(name: str, **labels) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    review = {"route": "/review/<int:application_id>", "method": "GET"}
    assert grew("portal_http_requests_total", status="302", **review) == 1
    assert grew("portal_http_request_duration_seconds_count", **review) == 1
    assert grew("portal_http_requests_total", route="<unmatched>", method="GET", status="404") == 2
    assert not any("no-such-page" in str(labels) for _, labels in after)
    assert grew("portal_http_requests_total", route="/metrics", method="GET", status="200") == 1


def test_metrics_show_the_portals_work_counted_at_scrape_time(app, client, db_session):
    manager = factories.account(role=Role.MANAGER)
    overdue = factories.application(
        manager,
        state=ApplicationState.AWAITING_PAPER_REVIEW,
        step_started_at=datetime(2020, 1, 2, 2, tzinfo=UTC),
    )
    factories.paper_scan(overdue)
    factories.application(factories.account())  # a general user waits for a manager
    with app.test_request_context():
        send_mail("a@example.org", "等待", "內容")
        send_mail("b@example.org", "等待", "內容")
        send_mail("c@example.org", "失敗", "內容")
        db.session.flush()
    db_session.execute(
        OutboxMessage.__table__.update()
        .where(OutboxMessage.recipient == "c@example.org")
        .values(state=OutboxState.DEAD)
    )
    ran_at = datetime(2026, 11, 18, 0, 0, tzinfo=UTC)
    db_session.add(
        ScheduledRun(job="purge", period="2026-11-18", ran_at=ran_at, worker="w:1", detail={})
    )
    db_session.flush()
    metrics = scrape(client)
    assert metrics[("portal_database_up", ())] == 1
    assert metrics[("portal_help_desk_overdue", (("kind", "application"),))] == 1
    assert metrics[("portal_help_desk_overdue", (("kind", "change"),))] == 0
    waiting = "portal_queue_waiting"
    assert metrics[(waiting, (("kind", "application"), ("queue", "help_desk")))] == 1
    assert metrics[(waiting, (("kind", "general_user"), ("queue", "unit_manager")))] == 1
    assert metrics[("portal_outbox_messages", (("state", "queued"),))] == 2
    assert metrics[("portal_outbox_messages", (("state", "dead"),))] == 1
    assert metrics[("portal_outbox_oldest_queued_age_seconds", ())] >= 0
    last_run = "portal_scheduled_job_last_run_timestamp_seconds"
    assert metrics[(last_run, (("job", "purge"),))] == ran_at.timestamp()


def test_metrics_are_for_the_monitoring_network_only(client, db_session):
    outside = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert outside.status_code == 404
    assert "portal_http" not in outside.get_data(as_text=True)
    # Without a trusted proxy, a forwarded address is not believed.
    forged = client.get(
        "/metrics",
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
        headers={"X-Forwarded-For": "127.0.0.1"},
    )
    assert forged.status_code == 404
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "::1"}).status_code == 200


def test_behind_the_trusted_proxy_the_forwarded_client_address_decides(fresh_database):
    proxied = make_app(fresh_database, TRUSTED_PROXIES=1, METRICS_ALLOWED_NETWORKS=["10.20.0.0/16"])
    client = proxied.test_client()
    from_proxy = {"REMOTE_ADDR": "127.0.0.1"}

    def scrape_for(forwarded: str) -> int:
        headers = {"X-Forwarded-For": forwarded}
        return client.get("/metrics", environ_base=from_proxy, headers=headers).status_code

    assert scrape_for("10.20.3.4") == 200
    assert scrape_for("203.0.113.9") == 404
    # Only the address the proxy itself added counts, not one the client put before it.
    assert scrape_for("10.20.3.4, 203.0.113.9") == 404
    assert client.get("/metrics", environ_base=from_proxy).status_code == 404
    with proxied.app_context():
        db.engine.dispose()


def test_a_network_that_is_not_one_is_refused_at_start():
    from portal import create_app

    with pytest.raises(RuntimeError, match="METRICS_ALLOWED_NETWORKS"):
        create_app("testing", {"METRICS_ALLOWED_NETWORKS": ["10.0.0.0/33"]})


def test_a_failure_of_ours_shows_the_request_id_to_quote(fresh_database):
    failing = make_app(fresh_database, PROPAGATE_EXCEPTIONS=False)

    @failing.get("/_fails")
    def fails():
        raise RuntimeError("a bug")

    response = failing.test_client().get("/_fails")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert response.headers["X-Request-ID"] in text_of(html, "request-id")
    htmx = failing.test_client().get("/_fails", headers={"HX-Request": "true"})
    assert htmx.headers["X-Request-ID"] in text_of(htmx.get_data(as_text=True), "request-id")
    with failing.app_context():
        db.engine.dispose()


MULTIPROCESS_REQUESTS = """
import sys
from tests.conftest import make_app
app = make_app(sys.argv[1])
client = app.test_client()
for _ in range(int(sys.argv[2])):
    assert client.get("/healthz").status_code == 200
if sys.argv[3] == "scrape":
    print(client.get("/metrics").get_data(as_text=True))
"""


def test_with_several_processes_a_scrape_adds_up_every_processs_counts(fresh_database, tmp_path):
    # prometheus_client's multiprocess mode, as under gunicorn: each process writes its
    # counts to PROMETHEUS_MULTIPROC_DIR; whichever process is scraped reads them all.
    def run(count: int, scrape_after: bool) -> str:
        result = subprocess.run(
            [sys.executable, "-c", MULTIPROCESS_REQUESTS, fresh_database, str(count)]
            + ["scrape" if scrape_after else "no"],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).parents[2],
            env={**_environment(), "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    run(3, False)  # a worker that has since exited: its counts stay counted
    text = run(4, True)
    counts = {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "portal_http_requests_total"
    }
    healthz = (("method", "GET"), ("route", "/healthz"), ("status", "200"))
    assert counts[healthz] == 7
    assert "portal_database_up 1.0" in text


def _environment() -> dict[str, str]:
    import os

    return dict(os.environ)
