"""Scheduled work run by the worker: the help desk's morning digest (working days, typhoon
closures), the managers' daily digest, the purge; each job once per day, whatever the number
of workers, on a clock the tests set."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.accounts.models import AccountState, Role, StaffRole
from portal.changes.models import (
    ChangeAction,
    ChangeKind,
    ChangeState,
    ManagerChange,
    ManagerChangeItem,
)
from portal.extensions import db
from portal.oidc.models import (
    DeliveryState,
    LogoutDelivery,
    OidcAuthorizationCode,
    OidcClient,
    OidcLogin,
    OidcToken,
)
from portal.outbox.models import OutboxMessage
from portal.registration.models import ApplicationState
from portal.schedule.jobs import JOBS
from portal.schedule.models import ScheduledRun
from portal.schedule.services import Outcome, Scheduler
from portal.workcalendar.models import CalendarOverride, OverrideKind
from tests import factories
from tests.conftest import deliver_outbox

# Wednesday 18 November 2026, Taipei. A scan that arrived on day D is due 3 working days
# later: Thu 12 → Tue 17 (overdue), Fri 13 → Wed 18 (today), Mon 16 → Thu 19 (next working
# day), Tue 17 → Fri 20 (not yet).
TODAY = date(2026, 11, 18)


def taipei(day: date, hour: int, minute: int = 0) -> datetime:
    """A Taipei wall-clock time, as the aware UTC moment the code works with."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


@pytest.fixture
def schedule_on(app, monkeypatch):
    """Every job at 08:00 Taipei, as production would have it."""
    for setting in ("HELP_DESK_DIGEST_AT", "MANAGER_DIGEST_AT", "PURGE_AT"):
        monkeypatch.setitem(app.config, setting, "08:00")


@pytest.fixture
def help_desk(db_session):
    """One active help-desk account, and one deactivated that gets nothing."""
    factories.staff(StaffRole.HELP_DESK, name="李服務", email="desk@hpa.example.gov.tw")
    factories.staff(StaffRole.HELP_DESK, state=AccountState.DEACTIVATED, email="gone@example.org")


def paper_application(name: str, arrived: date, **overrides):
    manager = factories.account(role=Role.MANAGER, name=name)
    values = {
        "state": ApplicationState.AWAITING_PAPER_REVIEW,
        "step_started_at": taipei(arrived, 10),
    }
    application = factories.application(manager, **(values | overrides))
    factories.paper_scan(application)
    return application


def paper_change(name: str, arrived: date) -> ManagerChange:
    manager = factories.active_manager(factories.institution(name="臺東變更診所"))
    manager.name = name
    other = factories.active_manager(
        db.session.get(type(manager.institution), manager.institution_id)
    )
    change = ManagerChange(
        change_no=f"M{factories.next_number():014d}",
        institution_id=manager.institution_id,
        filed_by_id=manager.id,
        kind=ChangeKind.DEACTIVATE,
        state=ChangeState.AWAITING_PAPER_REVIEW,
        step_started_at=taipei(arrived, 10),
        paper_at=taipei(arrived, 10),
        items=[ManagerChangeItem(account_id=other.id, action=ChangeAction.DEACTIVATE)],
    )
    db.session.add(change)
    db.session.flush()
    return change


def run_jobs(now: datetime, scheduler: Scheduler | None = None) -> dict[str, Outcome]:
    reports = (scheduler or Scheduler(JOBS)).run_due(now)
    return {report.job: report.outcome for report in reports}


def runs_of(job: str) -> list[ScheduledRun]:
    return list(
        db.session.scalars(
            select(ScheduledRun)
            .where(ScheduledRun.job == job)
            .order_by(ScheduledRun.period)
            .execution_options(populate_existing=True)
        )
    )


def test_the_help_desk_hears_of_overdue_filings_and_those_due_by_the_next_working_day(
    app, help_desk, schedule_on, smtp_sink
):
    overdue = paper_application("王逾期", date(2026, 11, 12))
    overdue_change = paper_change("林變更", date(2026, 11, 11))
    due_today = paper_application("陳今日", date(2026, 11, 13))
    due_next = paper_application("張明日", date(2026, 11, 16))
    paper_application("趙未到", date(2026, 11, 17))
    paper_application("錢已決", date(2026, 11, 2), state=ApplicationState.APPROVED)

    assert run_jobs(taipei(TODAY, 8, 30))["help_desk_digest"] is Outcome.RAN
    deliver_outbox(app)
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == "desk@hpa.example.gov.tw"
    assert mail["Subject"] == "紙本審核：2 件已逾期，1 件今日到期，1 件下個工作日到期"
    body = mail.get_content()
    overdue_part, rest = body.split("今日到期：")
    today_part, next_part = rest.split("下個工作日（2026-11-19）到期：")
    assert "已逾期：2 件" in overdue_part
    assert f"2026-11-17 到期　{overdue.application_no}" in overdue_part
    assert f"2026-11-16 到期　{overdue_change.change_no}　B. 停用管理者帳號" in overdue_part
    assert overdue_part.index(overdue_change.change_no) < overdue_part.index(overdue.application_no)
    assert f"2026-11-18 到期　{due_today.application_no}" in today_part and "陳今日" in today_part
    assert f"2026-11-19 到期　{due_next.application_no}" in next_part and "張明日" in next_part
    assert "趙未到" not in body and "錢已決" not in body
    assert "http://portal.test/review" in body
    [run] = runs_of("help_desk_digest")
    assert run.period == "2026-11-18"
    assert run.detail == {"queued": 1, "overdue": 2, "due_today": 1, "due_next_working_day": 1}
    [queued] = db.session.scalars(select(OutboxMessage)).all()
    assert queued.request_id == run.request_id and len(run.request_id) == 32


def test_a_typhoon_closure_moves_due_dates_and_the_next_working_day(
    app, help_desk, schedule_on, smtp_sink
):
    # Closed on Monday 16: Thursday 12's scan is due today, not yesterday. Closed on
    # Thursday 19: the next working day is Friday 20.
    for closed in (date(2026, 11, 16), date(2026, 11, 19)):
        db.session.add(
            CalendarOverride(day=closed, kind=OverrideKind.CLOSED, reason="颱風停止上班")
        )
    paper_application("王颱風", date(2026, 11, 12))
    paper_application("張週五", date(2026, 11, 16))  # uploaded on the closed day
    run_jobs(taipei(TODAY, 9))
    deliver_outbox(app)
    [mail] = smtp_sink.wait_for(1)
    assert mail["Subject"] == "紙本審核：0 件已逾期，1 件今日到期，1 件下個工作日到期"
    body = mail.get_content()
    assert "下個工作日（2026-11-20）到期：1 件" in body
    assert "2026-11-18 到期" in body and "2026-11-20 到期" in body


def test_no_digest_on_a_day_off_nor_when_nothing_is_due(app, help_desk, schedule_on, smtp_sink):
    paper_application("王逾期", date(2026, 11, 12))
    db.session.add(CalendarOverride(day=TODAY, kind=OverrideKind.CLOSED, reason="颱風停止上班"))
    assert run_jobs(taipei(TODAY, 8, 5))["help_desk_digest"] is Outcome.RAN
    saturday = date(2026, 11, 21)
    assert run_jobs(taipei(saturday, 8, 5))["help_desk_digest"] is Outcome.RAN
    assert [run.detail for run in runs_of("help_desk_digest")] == [
        {"skipped": "not a working day"},
        {"skipped": "not a working day"},
    ]
    # A working day with nothing due by the next one.
    quiet = date(2026, 11, 2)
    assert run_jobs(taipei(quiet, 8, 5))["help_desk_digest"] is Outcome.RAN
    assert runs_of("help_desk_digest")[0].detail["queued"] == 0
    deliver_outbox(app)
    assert smtp_sink.messages == []


def test_each_job_runs_once_a_day_at_its_time_whatever_the_number_of_workers(
    app, help_desk, schedule_on, smtp_sink
):
    paper_application("王逾期", date(2026, 11, 12))
    first, second = Scheduler(JOBS), Scheduler(JOBS)
    assert run_jobs(taipei(TODAY, 7, 59), first) == {}
    assert run_jobs(taipei(TODAY, 8, 0), first)["help_desk_digest"] is Outcome.RAN
    assert run_jobs(taipei(TODAY, 8, 1), first) == {}  # this worker remembers
    assert run_jobs(taipei(TODAY, 11), second)["help_desk_digest"] is Outcome.DONE
    assert run_jobs(taipei(TODAY, 12), second) == {}
    assert (
        run_jobs(taipei(TODAY + timedelta(days=1), 8, 0), second)["help_desk_digest"] is Outcome.RAN
    )
    assert [run.period for run in runs_of("help_desk_digest")] == ["2026-11-18", "2026-11-19"]
    deliver_outbox(app)
    assert len(smtp_sink.wait_for(2)) == 2


def test_a_job_turned_off_never_runs(app, help_desk, schedule_on, monkeypatch):
    monkeypatch.setitem(app.config, "HELP_DESK_DIGEST_AT", "off")
    paper_application("王逾期", date(2026, 11, 12))
    assert "help_desk_digest" not in run_jobs(taipei(TODAY, 23))
    assert runs_of("help_desk_digest") == []


def test_a_failed_job_leaves_nothing_behind_and_is_tried_again_later(
    app, help_desk, schedule_on, monkeypatch, smtp_sink, caplog
):
    paper_application("王逾期", date(2026, 11, 12))
    db.session.commit()  # as the filing would be: the failed job's rollback keeps it
    from portal.review import notifications

    real_send = notifications.send_help_desk_digest

    def send_then_fail(digest):
        real_send(digest)
        raise RuntimeError("the calendar service is down")

    monkeypatch.setattr("portal.schedule.jobs.send_help_desk_digest", send_then_fail)
    scheduler = Scheduler(JOBS)
    assert run_jobs(taipei(TODAY, 8), scheduler)["help_desk_digest"] is Outcome.FAILED
    assert "scheduled job help_desk_digest for 2026-11-18 failed" in caplog.text
    assert runs_of("help_desk_digest") == []
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    monkeypatch.setattr("portal.schedule.jobs.send_help_desk_digest", real_send)
    retry = app.config["SCHEDULE_RETRY_SECONDS"]
    assert "help_desk_digest" not in run_jobs(
        taipei(TODAY, 8) + timedelta(seconds=retry - 1), scheduler
    )
    later = taipei(TODAY, 8) + timedelta(seconds=retry)
    assert run_jobs(later, scheduler)["help_desk_digest"] is Outcome.RAN
    deliver_outbox(app)
    assert len(smtp_sink.wait_for(1)) == 1


def test_the_managers_daily_digest_is_sent_by_the_worker_only_in_daily_mode(
    app, db_session, schedule_on, monkeypatch, smtp_sink
):
    clinic = factories.institution(name="臺北摘要診所")
    manager = factories.active_manager(clinic)
    waiting = factories.application(factories.account(institution=clinic, name="林等待"))
    assert "manager_digest" not in run_jobs(taipei(TODAY, 9))  # MANAGER_NOTICE immediate
    monkeypatch.setitem(app.config, "MANAGER_NOTICE", "daily")
    assert run_jobs(taipei(TODAY, 9))["manager_digest"] is Outcome.RAN
    assert runs_of("manager_digest")[0].detail == {"queued": 1}
    deliver_outbox(app)
    [mail] = smtp_sink.wait_for(1)
    assert mail["To"] == manager.email
    assert waiting.application_no in mail.get_content() and "林等待" in mail.get_content()


def test_the_purge_deletes_what_ended_long_enough_ago_and_keeps_the_rest(
    app, db_session, schedule_on
):
    from portal.auth.models import PasswordResetToken, UserSession
    from portal.outbox.models import OutboxState
    from portal.verification.models import CardChallenge

    now = taipei(TODAY, 8)
    days = app.config["PURGE_EXPIRED_AFTER_DAYS"]
    idle = timedelta(minutes=app.config["SESSION_IDLE_MINUTES"])
    long_ago, lately = now - timedelta(days=days, hours=1), now - timedelta(days=days - 1)
    person = factories.account(state=AccountState.ACTIVE)
    sessions = {
        "ended long ago": dict(created_at=long_ago, last_seen_at=long_ago, ended_at=long_ago),
        "idle long ago": dict(created_at=long_ago - idle, last_seen_at=long_ago - idle),
        "ended lately": dict(created_at=long_ago, last_seen_at=lately, ended_at=lately),
        "live": dict(created_at=now, last_seen_at=now),
    }
    session_ids = {}
    for digest, times in sessions.items():
        row = UserSession(token_digest=digest, account_id=person.id, **times)
        db.session.add(row)
        db.session.flush()
        session_ids[digest] = row.id
    # A subsystem signed in through the session long over and through the one over lately.
    client = _signed_in_subsystem(person, session_ids["ended long ago"], long_ago, "old")
    _signed_in_subsystem(person, session_ids["ended lately"], lately, "recent", client)
    for digest, expires in (("old link", long_ago), ("recent link", lately)):
        db.session.add(
            PasswordResetToken(token_digest=digest, account_id=person.id, expires_at=expires)
        )
    application = factories.application(factories.account(role=Role.MANAGER))
    for nonce, expires in (("old", long_ago), ("recent", lately)):
        db.session.add(
            CardChallenge(application_id=application.id, nonce=nonce, expires_at=expires)
        )
    keep_mail = app.config["OUTBOX_SENT_RETENTION_DAYS"]
    long_sent = now - timedelta(days=keep_mail, hours=1)
    recent_sent = now - timedelta(days=keep_mail - 1)
    mail = {
        "sent long ago": (OutboxState.SENT, now - timedelta(days=keep_mail, hours=1)),
        "sent lately": (OutboxState.SENT, now - timedelta(days=keep_mail - 1)),
        "dead long ago": (OutboxState.DEAD, None),
        "queued long ago": (OutboxState.QUEUED, None),
    }
    for subject, (state, sent_at) in mail.items():
        created = now - timedelta(days=keep_mail + 5)
        db.session.add(
            OutboxMessage(
                recipient="x@example.org",
                subject=subject,
                body="",
                state=state,
                sent_at=sent_at,
                created_at=created,
                due_at=created,
            )
        )
    db.session.flush()

    for sid, sent_at in (("old-logout", long_sent), ("recent-logout", recent_sent)):
        db.session.add(
            LogoutDelivery(
                client_id=client.id,
                subject="s",
                sid=sid,
                reason="logout",
                state=DeliveryState.SENT,
                created_at=sent_at,
                due_at=sent_at,
                sent_at=sent_at,
            )
        )
    db.session.flush()

    assert run_jobs(now)["purge"] is Outcome.RAN
    assert runs_of("purge")[0].detail == {
        "sessions": 2,
        "card_challenges": 1,
        "reset_tokens": 1,
        "sent_mail": 1,
        "sent_logout_tokens": 1,
    }
    assert list(db.session.scalars(select(OidcLogin.sid))) == ["recent"]
    assert list(db.session.scalars(select(OidcAuthorizationCode.code_digest))) == ["recent"]
    assert list(db.session.scalars(select(OidcToken.access_token_digest))) == ["recent"]
    assert list(db.session.scalars(select(LogoutDelivery.sid))) == ["recent-logout"]
    assert set(db.session.scalars(select(UserSession.token_digest))) == {"ended lately", "live"}
    assert list(db.session.scalars(select(PasswordResetToken.token_digest))) == ["recent link"]
    assert list(db.session.scalars(select(CardChallenge.nonce))) == ["recent"]
    assert set(db.session.scalars(select(OutboxMessage.subject))) == {
        "sent lately",
        "dead long ago",
        "queued long ago",
    }


def _signed_in_subsystem(person, session_id, moment, label, client=None):
    """A relying party's sign-in through the session, with its code and its token."""
    from tests.functional.oidc_helpers import register

    if client is None:
        client_id = register().client_id
        client = db.session.scalar(select(OidcClient).where(OidcClient.client_id == client_id))
    login = OidcLogin(
        user_session_id=session_id, client_id=client.id, account_id=person.id, sid=label
    )
    db.session.add(login)
    db.session.flush()
    code = OidcAuthorizationCode(
        code_digest=label,
        client_id=client.id,
        account_id=person.id,
        login_id=login.id,
        redirect_uri="https://rp.example.gov.tw/callback",
        scope="openid",
        code_challenge="x" * 43,
        code_challenge_method="S256",
        auth_time=moment,
        amr="pwd",
        created_at=moment,
        expires_at=moment,
        used_at=moment,
    )
    db.session.add(code)
    db.session.flush()
    db.session.add(
        OidcToken(
            client_id=client.id,
            account_id=person.id,
            login_id=login.id,
            family_id=label,
            code_id=code.id,
            access_token_digest=label,
            refresh_token_digest=label,
            scope="openid",
            issued_at=moment,
            expires_at=moment,
            refresh_expires_at=moment,
        )
    )
    db.session.flush()
    return client


@pytest.fixture
def slow_digest(monkeypatch):
    """The help desk's digest takes a moment, so that racing workers overlap."""
    import time

    from portal.review import notifications

    def slowly(digest):
        time.sleep(0.3)
        return notifications.send_help_desk_digest(digest)

    monkeypatch.setattr("portal.schedule.jobs.send_help_desk_digest", slowly)


def _racing_setup(live_app) -> None:
    for setting in ("HELP_DESK_DIGEST_AT", "MANAGER_DIGEST_AT", "PURGE_AT"):
        live_app.config[setting] = "off"
    live_app.config["HELP_DESK_DIGEST_AT"] = "08:00"
    with live_app.app_context():
        factories.staff(StaffRole.HELP_DESK, email="desk@hpa.example.gov.tw")
        paper_application("王逾期", date(2026, 11, 12))
        db.session.commit()


def _race(live_app, schedulers) -> list[Outcome]:
    from portal.worker import run_scheduled
    from tests.functional.helpers import at_once

    now = taipei(TODAY, 8, 30)
    results = at_once(*(lambda s=s: run_scheduled(live_app, s, now) for s in schedulers))
    return [report.outcome for reports in results for report in reports]


def _sent_once(live_app, smtp_sink) -> None:
    with live_app.app_context():
        assert [run.period for run in runs_of("help_desk_digest")] == ["2026-11-18"]
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1
    deliver_outbox(live_app)
    assert len(smtp_sink.wait_for(1)) == 1


def _engine(live_app) -> str:
    with live_app.app_context():
        return db.engine.dialect.name


def test_two_workers_racing_for_one_job_run_it_once(live_app, slow_digest, smtp_sink):
    _racing_setup(live_app)
    schedulers = [Scheduler(JOBS), Scheduler(JOBS)]
    outcomes = _race(live_app, schedulers)
    if _engine(live_app) == "postgresql":
        # The loser finds the advisory lock taken and skips the job while it runs ...
        assert sorted(outcomes) == sorted([Outcome.RAN, Outcome.BUSY])
        # ... and on its next pass finds it done.
        assert [report.outcome for report in _next_pass(live_app, schedulers)] == [Outcome.DONE]
    else:
        # SQLite's write lock makes the loser wait, then it finds the job done.
        assert sorted(outcomes) == sorted([Outcome.RAN, Outcome.DONE])
        assert _next_pass(live_app, schedulers) == []
    _sent_once(live_app, smtp_sink)


def _next_pass(live_app, schedulers):
    from portal.worker import run_scheduled

    reports = []
    for scheduler in schedulers:
        reports += run_scheduled(live_app, scheduler, taipei(TODAY, 8, 31))
    return reports


def test_the_unique_claim_holds_without_the_advisory_lock(
    live_app, slow_digest, smtp_sink, monkeypatch
):
    # Each worker locks a key of its own, as if the lock were missing: on PostgreSQL the
    # second insert of (job, period) waits for the first transaction, then fails on the
    # unique key (or its look finds the committed row); SQLite serialises them anyway.
    import itertools

    keys = itertools.count(1)
    monkeypatch.setattr("portal.schedule.services.lock_key", lambda name: next(keys))
    _racing_setup(live_app)
    outcomes = _race(live_app, [Scheduler(JOBS), Scheduler(JOBS)])
    assert sorted(outcomes) == sorted([Outcome.RAN, Outcome.DONE])
    _sent_once(live_app, smtp_sink)
