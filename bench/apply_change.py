"""Applying an approved manager change: `python -m bench.apply_change`.

1. A fresh PostgreSQL database, migrated, with 30,001 institutions and 100,000 accounts with
   their applications (bench/seed.py); a help-desk account; then paper filings of every kind
   (bench/filings.py), pending with their scans and decided ones behind them.
2. In-process, the help desk approving 200 pending changes on paper, the kinds in turn
   (deactivate, promote, demote, hand-over): `decide_on_paper` whole, each call in a session
   of its own as a request has. That is the change locked and checked open, its institution
   and accounts locked and checked as filed, the rule that the institution keeps a manager,
   roles and states changed (a deactivated account's sessions ended), the audit event, the
   commit, then the e-mails to the people named, the filer and the institution's managers.
3. The e-mails alone for the same changes (`send_decided`), for the share they take: built
   only, then sent over SMTP to a local sink (tests/smtp_sink.py, a thread of this process).
4. A Markdown table on stdout and in bench/results/apply_change.md.

While the approvals are timed, mail goes to the console backend with its logger silenced:
each message is rendered and built, none is written or sent, so the judged figure holds no
SMTP conversation (production sends one per recipient, in the reviewer's request).

Its own benchmark rather than a line of bench/review.py: it needs the 100,000 accounts that
the queue's database does not have (and which would change what the queue measures), and no
server; alone it runs in a few minutes. The exit status is 0 whether the target passes or
fails (the table says FAIL); it is non-zero only when the benchmark itself breaks. The
database is removed in every case.
"""

import logging
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from bench import filings, report
from bench.floor import add_floor_route, in_process_floor
from bench.harness import run_benchmark, seeded_database, timed
from bench.load import Measurement
from bench.review import create_help_desk
from bench.seed import INSTITUTION_COUNT, SeedContext, seed_accounts
from bench.server import ServerOptions
from bench.timings import Timings, time_calls
from portal.accounts.models import Account, AccountState, Role
from portal.audit.services import Origin
from portal.changes import notifications
from portal.changes.decisions import decide_on_paper
from portal.changes.models import (
    ChangeAction,
    ChangeKind,
    ChangeState,
    ManagerChange,
    ManagerChangeItem,
)
from portal.extensions import db
from portal.outbox.services import deliver_due
from portal.registration.models import ApplicationState
from tests.smtp_sink import SmtpSink

ACCOUNTS = int(os.environ.get("BENCH_ACCOUNTS", "100000"))
CHANGES = int(os.environ.get("BENCH_CHANGES", "200"))
# Filings besides the general population: enough pending changes of each kind to approve.
PENDING_FILINGS = int(os.environ.get("BENCH_PENDING_FILINGS", "5000"))
DECIDED_FILINGS = int(os.environ.get("BENCH_DECIDED_FILINGS", "5000"))
WARMUP = 5
# The target, a median under 20 ms, beside the in-process floor (bench/floor.py):
# it was set where the in-process floor cost about 0.6 ms of CPU.
APPLY_CPU_RATIO = 33.0
ORIGIN = Origin(remote_addr="127.0.0.1", user_agent="bench.apply_change")
# What each action leaves on the account it names, to check every change was applied.
APPLIED = {
    ChangeAction.DEACTIVATE: Account.state == AccountState.DEACTIVATED,
    ChangeAction.PROMOTE: Account.role == Role.MANAGER,
    ChangeAction.DEMOTE: Account.role == Role.GENERAL,
}
# Messages built but neither written nor sent.
NO_MAIL = {"MAIL_BACKEND": "console"}
RESULTS = Path(__file__).resolve().parent / "results" / "apply_change.md"


def seed(app: Flask, context: SeedContext) -> int:
    """The accounts, the help desk, the filings; the help desk's account id."""
    timed(f"seed {ACCOUNTS:,} accounts", seed_accounts, app, context, 0, ACCOUNTS)
    reviewer_id, _secret = create_help_desk(app, ACCOUNTS)
    index = ACCOUNTS + 1  # the help desk's index was ACCOUNTS
    for state, count in (
        (ApplicationState.AWAITING_PAPER_REVIEW, PENDING_FILINGS),
        (ApplicationState.APPROVED, DECIDED_FILINGS),
    ):
        index = timed(
            f"seed {count:,} {state.value} filings",
            filings.seed_filings,
            app,
            context,
            index,
            count,
            state,
            reviewer_id,
        )
    return reviewer_id


def pending_changes(app: Flask, count: int) -> list[tuple[int, ChangeKind]]:
    """`count` pending changes, oldest first within a kind, the kinds in turn."""
    per_kind = -(-count // len(ChangeKind))
    with app.app_context():
        groups = [
            [
                (change_id, kind)
                for change_id in db.session.scalars(
                    sa.select(ManagerChange.id)
                    .where(
                        ManagerChange.kind == kind,
                        ManagerChange.state == ChangeState.AWAITING_PAPER_REVIEW,
                    )
                    .order_by(ManagerChange.id)
                    .limit(per_kind)
                )
            ]
            for kind in ChangeKind
        ]
    chosen = [pair for turn in zip(*groups, strict=False) for pair in turn][:count]
    if len(chosen) < count:
        raise RuntimeError(f"only {len(chosen)} pending changes of every kind, {count} needed")
    return chosen


def time_decisions(app: Flask, reviewer_id: int, change_ids: list[int]) -> Timings:
    """`decide_on_paper` approving each change in turn, on the watched backend."""
    return _time(app, partial(_decision, reviewer_id, change_ids), NO_MAIL)


def time_mails(app: Flask, change_ids: list[int]) -> tuple[Timings, Timings]:
    """The e-mails of each (already approved) change alone: queued in the outbox (what the
    decision does), then also committed and sent by the worker's delivery pass."""
    built = _time(app, partial(_mails, change_ids), NO_MAIL)
    sink = SmtpSink()
    sink.start()
    try:
        smtp = {"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": sink.port}
        sent = _time(app, partial(_mails_sent, change_ids), smtp)
    finally:
        sink.stop()
    if len(sink.messages) < len(change_ids):
        raise RuntimeError(f"the SMTP sink received {len(sink.messages)} messages")
    return built, sent


def _time(
    app: Flask, prepare: Callable[[int], Callable[[], object]], mail: dict[str, object]
) -> Timings:
    """The calls in one request context (the e-mails' links need a host), `mail` configured."""
    saved = {key: app.config[key] for key in mail}
    app.config.update(mail)
    mail_log = logging.getLogger("portal.mail")
    level = mail_log.level
    mail_log.setLevel(logging.ERROR)  # the console backend's copy of each message
    try:
        with app.test_request_context():
            # A fresh pool: each call's session then takes the one connection watched.
            db.engine.dispose()
            backend = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
            db.session.remove()
            timings = time_calls(prepare, CHANGES, WARMUP, backend)
            db.session.remove()
            db.engine.dispose()
    finally:
        mail_log.setLevel(level)
        app.config.update(saved)
    return timings


def _decision(reviewer_id: int, change_ids: list[int], index: int) -> Callable[[], object]:
    """The index-th approval, in a session of its own, as the reviewer's request has."""
    db.session.remove()
    return partial(decide_on_paper, reviewer_id, change_ids[index], True, "", ORIGIN)


def _mails(change_ids: list[int], index: int) -> Callable[[], object]:
    """The index-th change's e-mails, the change read before the clock starts."""
    db.session.remove()
    return partial(notifications.send_decided, db.session.get(ManagerChange, change_ids[index]))


def _mails_sent(change_ids: list[int], index: int) -> Callable[[], object]:
    """The index-th change's e-mails queued, committed and delivered as the worker does."""
    queue = _mails(change_ids, index)

    def send() -> None:
        queue()
        db.session.commit()
        deliver_due()

    return send


def check_all_applied(app: Flask, change_ids: list[int]) -> None:
    """Every change timed was applied: approved, and each account it names changed."""
    with app.app_context():
        approved = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(ManagerChange)
            .where(ManagerChange.id.in_(change_ids), ManagerChange.state == ChangeState.APPROVED)
        )
        items = sa.select(ManagerChangeItem.action, Account).join(
            Account, Account.id == ManagerChangeItem.account_id
        )
        named = db.session.scalar(
            sa.select(sa.func.count()).select_from(
                items.where(ManagerChangeItem.change_id.in_(change_ids)).subquery()
            )
        )
        changed = sum(
            db.session.scalar(
                sa.select(sa.func.count()).select_from(
                    items.where(
                        ManagerChangeItem.change_id.in_(change_ids),
                        ManagerChangeItem.action == action,
                        applied,
                    ).subquery()
                )
            )
            for action, applied in APPLIED.items()
        )
    if approved != len(change_ids) or changed != named:
        raise RuntimeError(
            f"{approved} of {len(change_ids)} changes approved, {changed} of {named} accounts "
            "changed as filed"
        )


def rows_of(
    floor: Measurement,
    decisions: Timings,
    mails: tuple[Timings, Timings],
    kinds: list[ChangeKind],
) -> list[report.Row]:
    """The floor, the judged line, one information line per kind, and the e-mails' share."""
    rows = [
        report.judged(
            "floor: the trivial route through the test client", floor, report.reference()
        ),
        report.judged(
            f"decide_on_paper approving a change ({CHANGES} changes of 4 kinds, in-process)",
            decisions.measurement(),
            report.cpu_ratio_at_most(floor, APPLY_CPU_RATIO),
        ),
    ]
    measured = kinds[WARMUP + 1 :]
    for kind in ChangeKind:
        picks = [i for i, each in enumerate(measured) if each is kind]
        part = Timings(
            decisions.first_ms,
            [decisions.samples_ms[i] for i in picks],
            [decisions.cpu_samples_ms[i] for i in picks],
            other_cpu_share=decisions.other_cpu_share,
        )
        rows.append(
            report.judged(
                f"… {kind.value} ({len(picks)} of them)",
                # The database's CPU was read for the series, not per kind.
                replace(part.measurement(), db_cpu_ms=None),
                lambda _m: ("info: one kind", None),
            )
        )
    built, sent = mails
    rows.append(
        report.judged(
            "… of which the e-mails, send_decided alone (same changes, queued in the outbox)",
            built.measurement(),
            lambda _m: ("info: share of the decision", None),
        )
    )
    rows.append(
        report.judged(
            "… the same e-mails queued, then sent by the worker over SMTP to a local sink "
            "(not in the judged line)",
            sent.measurement(),
            lambda _m: ("info: what sending would add", None),
        )
    )
    return rows


def run(workdir: Path, _options: ServerOptions) -> list[report.Row]:
    """Database, seed, the approvals, the e-mails; the database dropped on the way out."""
    with seeded_database(workdir) as bench:
        app = bench.app
        floor = timed("in-process floor", in_process_floor, add_floor_route(app))
        reviewer_id = seed(app, bench.seed)
        chosen = pending_changes(app, CHANGES + WARMUP + 1)
        change_ids, kinds = [c for c, _k in chosen], [k for _c, k in chosen]
        decisions = timed(f"{CHANGES} approvals", time_decisions, app, reviewer_id, change_ids)
        check_all_applied(app, change_ids)
        mails = timed(f"{CHANGES} changes' e-mails", time_mails, app, change_ids)
        return rows_of(floor, decisions, mails, kinds)


def document(rows: list[report.Row], _options: ServerOptions) -> str:
    """The table with what it was measured on and how to read it."""
    lines = [
        "# Applying an approved manager change",
        "",
        f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}; {os.cpu_count()} CPU cores; "
        f"PostgreSQL on the same machine; {INSTITUTION_COUNT + 1:,} institutions, "
        f"{ACCOUNTS:,} accounts, {PENDING_FILINGS:,} pending and {DECIDED_FILINGS:,} "
        f"approved paper filings ({filings.describe_mix()}); {CHANGES} approvals after "
        f"{WARMUP} warm-up, in-process, one thread.",
        "",
        "Each line's req/s is calls per second, p50 the median call, CPU ms/req this process's "
        "+ its PostgreSQL backend's CPU per call. A call is `decide_on_paper(reviewer, change, "
        "True, …)` whole, e-mails included: they are built (recipients read, template "
        "rendered, one message per recipient) but go to the console backend, silenced, so no "
        "SMTP is timed. The last line sends the same e-mails to an SMTP server in a thread of "
        "this process (its CPU counted as the app's): one connection per message, as "
        "portal/mail.py does.",
    ]
    return report.document(lines, rows)


def main() -> int:
    """Run the benchmark; 0 unless the benchmark itself failed."""
    return run_benchmark(run, document, RESULTS)


if __name__ == "__main__":
    sys.exit(main())
