"""Seeding the bench database: institutions, then accounts with their applications.

Rows go in with COPY in batches (bench/bulk.py), bypassing the ORM's unit of work: the ORM
would take minutes for 100,000 accounts, and what is measured is the reading side. The
values still go through the portal's own column types and security functions, so the rows
look exactly like those the registration service writes.
"""

import random
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask

from bench.bulk import copy_rows
from portal.accounts.models import Account, AccountState, Role
from portal.db_types import utcnow
from portal.extensions import db
from portal.identity.identifiers import is_valid_national_id
from portal.institutions.demo_data import DEMO_CLINIC, SURNAMES, generate_institutions
from portal.institutions.models import Institution
from portal.registration.models import Application, ApplicationState
from portal.security.national_ids import encrypt_national_id, national_id_digest
from portal.security.passwords import hash_password
from portal.subsystems.models import RequestState, Subsystem, SubsystemRequest
from portal.verification.models import PaperScan

INSTITUTION_COUNT = 30_000
BATCH_SIZE = 5_000
# One hash shared by every seeded account: argon2id costs ~50 ms by design, so 100,000 of them
# would take over an hour. Sign-ins (bench/sign_in.py) still do the real work: verifying
# costs the same whatever the salt, and each account is its own row.
SHARED_PASSWORD = "Bench*Password#2026"
GIVEN_NAMES = ("志明", "春嬌", "淑芬", "家豪", "怡君", "建宏", "雅婷", "俊傑", "美玲", "宗翰")
AREA_LETTERS = "ABCDEFGHJKLMNPQRSTUVXYWZIO"

# (state, weight) for each role: most applications are decided, as in a portal in service.
MANAGER_STATES = (
    (ApplicationState.APPROVED, 60),
    (ApplicationState.AWAITING_VERIFICATION, 25),
    (ApplicationState.AWAITING_PAPER_REVIEW, 15),
)
GENERAL_STATES = (
    (ApplicationState.APPROVED, 60),
    (ApplicationState.AWAITING_MANAGER, 30),
    (ApplicationState.REFUSED, 10),
)
ACCOUNT_STATE_OF = {
    ApplicationState.APPROVED: AccountState.ACTIVE,
    ApplicationState.REFUSED: AccountState.REFUSED,
}


@dataclass(frozen=True)
class SeedContext:
    """What every account batch needs: where accounts may belong, and the shared hash."""

    institution_ids: Sequence[int]
    subsystem_ids: Sequence[int]
    password_hash: str


def national_id_for(index: int) -> str:
    """A valid, unique ID number for the index-th seeded account (letter, sex, serial, check)."""
    letter = AREA_LETTERS[index % len(AREA_LETTERS)]
    stem = f"{letter}{1 + (index // len(AREA_LETTERS)) % 2}{index:07d}"
    # The portal's own validator decides the check digit, so no checksum table is duplicated.
    for check in "0123456789":
        if is_valid_national_id(stem + check):
            return stem + check
    raise AssertionError(f"no check digit for {stem}")


def application_no_for(index: int, submitted_at: datetime) -> str:
    """A 14-digit application number: the submission date and the index (hence unique)."""
    return submitted_at.strftime("%Y%m%d") + f"{index:06d}"


def sample_pairs(app: Flask, seeded: int, count: int) -> list[tuple[str, str]]:
    """(application_no, national_id) of `count` random accounts among the first `seeded`."""
    rng = random.Random(seeded)
    indices = rng.sample(range(seeded), min(count, seeded))
    with app.app_context(), db.engine.connect() as connection:
        numbers = dict(
            connection.execute(
                sa.select(Application.account_id, Application.application_no).where(
                    Application.account_id.in_([index + 1 for index in indices])
                )
            ).all()
        )
    # Plain IDs are never stored; they are derived again from the account's index.
    return [(numbers[index + 1], national_id_for(index)) for index in indices]


def active_general_usernames(app: Flask, count: int) -> list[str]:
    """Usernames of up to `count` seeded accounts that may sign in with SHARED_PASSWORD."""
    with app.app_context(), db.engine.connect() as connection:
        return list(
            connection.scalars(
                sa.select(Account.username)
                .where(
                    Account.state == AccountState.ACTIVE,
                    Account.role == Role.GENERAL,
                    Account.locked_until.is_(None),
                )
                .order_by(Account.id)
                .limit(count)
            )
        )


def seed_institutions(app: Flask) -> SeedContext:
    """The demo clinic and 30,000 generated institutions; the context account batches use."""
    now = utcnow()
    records = [DEMO_CLINIC, *generate_institutions(INSTITUTION_COUNT)]
    rows = [
        {
            "code": r.code,
            "name": r.name,
            "kind": r.kind,
            "county": r.county,
            "active": r.active,
            "created_at": now,
            "updated_at": now,
        }
        for r in records
    ]
    with app.app_context(), db.engine.begin() as connection:
        for batch in _batches(rows):
            copy_rows(connection, Institution.__table__, batch)
        institution_ids = connection.scalars(
            sa.select(Institution.id).where(Institution.active)
        ).all()
        subsystem_ids = connection.scalars(sa.select(Subsystem.id)).all()
        # Inside the app context: the hash gets the configured argon2 parameters, so a
        # sign-in verifies it at the server's cost and has no reason to rehash it.
        password_hash = hash_password(SHARED_PASSWORD)
    return SeedContext(institution_ids, subsystem_ids, password_hash)


def seed_accounts(app: Flask, context: SeedContext, start: int, stop: int) -> None:
    """Accounts start..stop-1, each with its application and some subsystem requests."""
    with app.app_context():
        for first in range(start, stop, BATCH_SIZE):
            last = min(first + BATCH_SIZE, stop)
            accounts, applications, requests = _account_batch(context, first, last)
            # One transaction per batch keeps memory and WAL bursts bounded.
            with db.engine.begin() as connection:
                copy_rows(connection, Account.__table__, accounts)
                copy_rows(connection, Application.__table__, applications)
                copy_rows(connection, SubsystemRequest.__table__, requests)
        with db.engine.begin() as connection:
            after_explicit_ids(connection)
        settle(db.engine)


def seed_manager_applications(
    app: Flask,
    context: SeedContext,
    start: int,
    stop: int,
    state: ApplicationState,
    institution_ids: Sequence[int] = (),
) -> None:
    """Manager accounts start..stop-1, every application in `state` (paper ones with a scan).

    Spread over `institution_ids`, or over every active institution when none are given.
    """
    with app.app_context():
        for first in range(start, stop, BATCH_SIZE):
            last = min(first + BATCH_SIZE, stop)
            accounts, applications, scans = _manager_batch(
                context, first, last, state, institution_ids or context.institution_ids
            )
            with db.engine.begin() as connection:
                copy_rows(connection, Account.__table__, accounts)
                copy_rows(connection, Application.__table__, applications)
                copy_rows(connection, PaperScan.__table__, scans)
        with db.engine.begin() as connection:
            after_explicit_ids(connection)
        settle(db.engine)


def after_explicit_ids(
    connection: sa.Connection, tables: Sequence[str] = ("accounts", "applications")
) -> None:
    """Move the id sequences past the explicit ids, so later inserts get fresh ones."""
    for table in tables:
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        )


def settle(engine: sa.Engine) -> None:
    """Leave the database as a portal in service has it, with no maintenance still to come.

    Without this, autovacuum and a checkpoint would start after the bulk load, in the middle
    of a measurement, and the planner would see the tables as they were before the load.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM (ANALYZE)")
        connection.exec_driver_sql("CHECKPOINT")


def _account_batch(context: SeedContext, first: int, last: int) -> tuple[list, list, list]:
    """The rows of accounts first..last-1: accounts, applications, subsystem requests."""
    rng = random.Random(first)  # deterministic per batch, whatever the scale reached
    now = utcnow()
    accounts, applications, requests = [], [], []
    for index in range(first, last):
        role = Role.MANAGER if index % 5 == 0 else Role.GENERAL
        state = _pick_state(rng, MANAGER_STATES if role is Role.MANAGER else GENERAL_STATES)
        submitted_at = now - timedelta(days=rng.randrange(365), seconds=rng.randrange(86_400))
        institution_id = rng.choice(context.institution_ids)
        accounts.append(account_row(context, index, role, state, submitted_at, institution_id))
        applications.append(application_row(index, state, submitted_at, institution_id))
        requests.extend(_request_rows(rng, context, index, state, submitted_at))
    return accounts, applications, requests


def _manager_batch(
    context: SeedContext,
    first: int,
    last: int,
    state: ApplicationState,
    institution_ids: Sequence[int],
) -> tuple[list, list, list]:
    """The rows of manager accounts first..last-1: accounts, applications, paper scans."""
    rng = random.Random(first)
    now = utcnow()
    accounts, applications, scans = [], [], []
    for index in range(first, last):
        # Within the last month: the queue then holds overdue and not yet due applications.
        submitted_at = now - timedelta(days=rng.randrange(30), seconds=rng.randrange(86_400))
        institution_id = rng.choice(institution_ids)
        accounts.append(
            account_row(context, index, Role.MANAGER, state, submitted_at, institution_id)
        )
        applications.append(application_row(index, state, submitted_at, institution_id))
        if state is ApplicationState.AWAITING_PAPER_REVIEW:
            scans.append(scan_row(index, submitted_at))
    return accounts, applications, scans


def scan_row(index: int, uploaded_at: datetime, change_id: int | None = None) -> dict:
    """The stamped form's scan; no file behind it, as no scenario opens one.

    It belongs to the change `change_id`, or else to account index's application.
    """
    return {
        # COPY takes every row's columns from the first row: both keys, always.
        "application_id": None if change_id else index + 1,
        "change_id": change_id,
        "stored_name": secrets.token_hex(16) + ".pdf",
        "original_name": f"stamped-form-{index:06d}.pdf",
        "content_type": "application/pdf",
        "size": 180_000 + index % 50_000,
        "sha256": secrets.token_hex(32),
        "uploaded_at": uploaded_at,
    }


def _pick_state(
    rng: random.Random, weighted: Sequence[tuple[ApplicationState, int]]
) -> ApplicationState:
    states, weights = zip(*weighted, strict=True)
    return rng.choices(states, weights)[0]


def account_row(
    context: SeedContext,
    index: int,
    role: Role,
    state: ApplicationState,
    submitted_at: datetime,
    institution_id: int,
) -> dict:
    """The index-th account, as its application in `state` leaves it."""
    national_id = national_id_for(index)
    decided = state in (ApplicationState.APPROVED, ApplicationState.REFUSED)
    return {
        "id": index + 1,
        "username": f"Bench{index:06d}",
        "username_key": f"bench{index:06d}",
        "password_hash": context.password_hash,
        # Each row is encrypted on its own (random IV), as the registration service does.
        "national_id_encrypted": encrypt_national_id(national_id),
        "national_id_digest": national_id_digest(national_id),
        "name": SURNAMES[index % len(SURNAMES)] + GIVEN_NAMES[index % len(GIVEN_NAMES)],
        "phone": f"02-2{index % 10_000_000:07d}",
        "mobile": f"0912-{index % 1_000_000:06d}" if index % 3 else None,
        "email": f"bench{index:06d}@example.org",
        "institution_id": institution_id,
        "role": role,
        "state": ACCOUNT_STATE_OF.get(state, AccountState.PENDING),
        "created_at": submitted_at,
        "activated_at": submitted_at + timedelta(days=2) if decided else None,
    }


def application_row(
    index: int, state: ApplicationState, submitted_at: datetime, institution_id: int
) -> dict:
    """The application of the index-th account (same id), submitted at `submitted_at`."""
    decided = state in (ApplicationState.APPROVED, ApplicationState.REFUSED)
    return {
        "id": index + 1,
        "application_no": application_no_for(index, submitted_at),
        "submission_token": secrets.token_urlsafe(32),
        "account_id": index + 1,
        "institution_id": institution_id,
        "state": state,
        "submitted_at": submitted_at,
        "step_started_at": submitted_at,
        "paper_at": None,
        "decided_at": submitted_at + timedelta(days=2) if decided else None,
    }


def _request_rows(
    rng: random.Random,
    context: SeedContext,
    index: int,
    state: ApplicationState,
    submitted_at: datetime,
) -> Iterator[dict]:
    """None to two subsystem requests: some applicants only need 篩檢結果查詢."""
    for subsystem_id in rng.sample(context.subsystem_ids, rng.randrange(3)):
        yield {
            "account_id": index + 1,
            "subsystem_id": subsystem_id,
            "state": RequestState.APPROVED
            if state is ApplicationState.APPROVED
            else RequestState.PENDING,
            "requested_at": submitted_at,
            "decided_at": submitted_at + timedelta(days=3)
            if state is ApplicationState.APPROVED
            else None,
        }


def _batches(rows: list[dict]) -> Iterator[list[dict]]:
    for first in range(0, len(rows), BATCH_SIZE):
        yield rows[first : first + BATCH_SIZE]
