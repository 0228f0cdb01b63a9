"""Seeding the paper filings the help desk reviews: manager applications (form A) and
manager changes (B 停用, C.a 升為管理者, C.b 降為一般使用者, hand-overs), each with its scan.

Rows go in with COPY, like bench/seed.py's accounts. Every change is valid as filed: its
filer is an active manager of the institution who stays one (or, in a hand-over, hands over
to the general user it promotes), and each person it names is active with the role the change
expects, so approving any pending change applies it. Decided filings look as the portal
leaves them: an approved change's accounts already changed and its items closed, a refused
one still open (the filer may send a better scan), a refused application's account pending.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask

from bench.bulk import copy_rows
from bench.seed import (
    BATCH_SIZE,
    SeedContext,
    account_row,
    after_explicit_ids,
    application_row,
    scan_row,
    settle,
)
from portal.accounts.models import Account, AccountState, Role
from portal.changes.models import (
    ChangeAction,
    ChangeKind,
    ChangeState,
    ManagerChange,
    ManagerChangeItem,
)
from portal.db_types import utcnow
from portal.extensions import db
from portal.registration.models import Application, ApplicationState
from portal.review.services import FORM_A
from portal.verification.models import PaperScan

# The share of each kind among paper filings. Assumed, not measured (the portal has no
# history yet): first applications are the most common, then promotions, and removals of a
# manager come alone or as a hand-over.
KIND_WEIGHTS = (
    (FORM_A, 40),
    (ChangeKind.PROMOTE, 20),
    (ChangeKind.DEACTIVATE, 15),
    (ChangeKind.HANDOVER, 15),
    (ChangeKind.DEMOTE, 10),
)
REFUSAL_REASONS = ("印章不清晰，請重新掃描上傳", "未蓋機構印信", "申請表缺頁，請上傳完整掃描檔")
# Pending filings were uploaded within the last month (so some are overdue); decided ones
# within the year before.
PENDING_DAYS = 30
DECIDED_DAYS = 365
# The decision's columns of a filing nobody decided on paper. COPY takes every row's columns
# from the first row of its table, so rows of one table all name the same ones.
UNDECIDED = {"decided_by_id": None, "verified_by": None, "refusal_reason": None}
# Who a change names, and what it does to them: the filer's and the target's actions.
TARGET_ROLE = {
    ChangeKind.DEACTIVATE: Role.MANAGER,
    ChangeKind.DEMOTE: Role.MANAGER,
    ChangeKind.PROMOTE: Role.GENERAL,
    ChangeKind.HANDOVER: Role.GENERAL,
}


@dataclass
class _Batch:
    """The rows of one COPY transaction, in the order foreign keys need them."""

    context: SeedContext
    state: ApplicationState
    reviewer_id: int | None
    accounts: list[dict] = field(default_factory=list)
    applications: list[dict] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    scans: list[dict] = field(default_factory=list)

    @property
    def decided(self) -> bool:
        """Whether the filings of this batch have been decided."""
        return self.state in (ApplicationState.APPROVED, ApplicationState.REFUSED)

    def add_application(self, rng: random.Random, index: int, institution_id: int) -> None:
        """Form A of a new manager: the pending account, its application and the scan."""
        uploaded_at = self._uploaded_at(rng)
        account = account_row(
            self.context, index, Role.MANAGER, self.state, uploaded_at, institution_id
        )
        if self.state is ApplicationState.REFUSED:
            # Refused on paper, the applicant may send a better scan: still pending.
            account.update(state=AccountState.PENDING, activated_at=None)
        self.accounts.append(account)
        self.applications.append(
            application_row(index, self.state, uploaded_at, institution_id)
            | {"paper_at": uploaded_at}
            | self._decision(rng)
        )
        self.scans.append(scan_row(index, uploaded_at))

    def add_change(
        self,
        rng: random.Random,
        index: int,
        change_id: int,
        kind: ChangeKind,
        institution_id: int,
    ) -> None:
        """A change filed by manager `index` about account `index + 1` (both new)."""
        uploaded_at = self._uploaded_at(rng)
        joined_at = uploaded_at - timedelta(days=rng.randrange(60, 1_000))
        filer, target = (
            account_row(self.context, i, role, ApplicationState.APPROVED, joined_at, institution_id)
            for i, role in ((index, Role.MANAGER), (index + 1, TARGET_ROLE[kind]))
        )
        self.accounts += [filer, target]
        # Their own applications were approved long ago (by card, or by a manager).
        self.applications += [
            application_row(i, ApplicationState.APPROVED, joined_at, institution_id) | UNDECIDED
            for i in (index, index + 1)
        ]
        state = ChangeState(self.state.value)
        actions = _actions(kind, change_id)
        for person, action in zip((filer, target), actions, strict=True):
            if action is None:
                continue
            if state is ChangeState.APPROVED:
                _apply(person, action)
            self.items.append(
                {
                    "change_id": change_id,
                    "account_id": person["id"],
                    "action": action,
                    # A decided change frees its accounts; a refused one is still open.
                    "open_account_id": None if state is ChangeState.APPROVED else person["id"],
                }
            )
        self.changes.append(
            {
                "id": change_id,
                "change_no": f"M{uploaded_at:%Y%m%d}{change_id:06d}",
                "institution_id": institution_id,
                "filed_by_id": filer["id"],
                "kind": kind,
                "state": state,
                "submitted_at": uploaded_at - timedelta(days=rng.randrange(1, 8)),
                "step_started_at": uploaded_at,
                "paper_at": uploaded_at,
            }
            | self._decision(rng)
        )
        self.scans.append(scan_row(index, uploaded_at, change_id))

    def copy(self, connection: sa.Connection) -> None:
        """Insert the batch, parents before children."""
        copy_rows(connection, Account.__table__, self.accounts)
        copy_rows(connection, Application.__table__, self.applications)
        copy_rows(connection, ManagerChange.__table__, self.changes)
        copy_rows(connection, ManagerChangeItem.__table__, self.items)
        copy_rows(connection, PaperScan.__table__, self.scans)

    def _uploaded_at(self, rng: random.Random) -> datetime:
        """When the scan came: within the last month if pending, the year before if not."""
        if self.decided:
            days = rng.randrange(PENDING_DAYS, PENDING_DAYS + DECIDED_DAYS)
        else:
            days = rng.randrange(PENDING_DAYS)
        return utcnow() - timedelta(days=days, seconds=rng.randrange(86_400))

    def _decision(self, rng: random.Random) -> dict:
        """Who decided on paper and why; nobody while the filing is pending."""
        if not self.decided:
            return UNDECIDED
        if self.state is ApplicationState.APPROVED:
            return UNDECIDED | {"decided_by_id": self.reviewer_id, "verified_by": "paper"}
        reason = rng.choice(REFUSAL_REASONS)
        return UNDECIDED | {"decided_by_id": self.reviewer_id, "refusal_reason": reason}


def _actions(kind: ChangeKind, change_id: int) -> tuple[ChangeAction | None, ChangeAction]:
    """What the change does to its filer (None: nothing) and to its target."""
    if kind is ChangeKind.HANDOVER:
        # The filer leaves, half by deactivation and half by becoming a general user.
        leaves = ChangeAction.DEACTIVATE if change_id % 2 else ChangeAction.DEMOTE
        return leaves, ChangeAction.PROMOTE
    return None, ChangeAction(kind.value)


def _apply(account: dict, action: ChangeAction) -> None:
    """What an approved change did to the account row."""
    if action is ChangeAction.DEACTIVATE:
        account["state"] = AccountState.DEACTIVATED
    else:
        account["role"] = Role.MANAGER if action is ChangeAction.PROMOTE else Role.GENERAL


def describe_mix() -> str:
    """The kinds' shares in words, for a results file."""
    total = sum(weight for _kind, weight in KIND_WEIGHTS)
    return ", ".join(f"{kind} {weight / total:.0%}" for kind, weight in KIND_WEIGHTS)


def seed_filings(
    app: Flask,
    context: SeedContext,
    start: int,
    count: int,
    state: ApplicationState,
    reviewer_id: int | None = None,
    institution_ids: Sequence[int] = (),
) -> int:
    """`count` paper filings in `state`, their kinds mixed by KIND_WEIGHTS; the first account
    index left free.

    Accounts take indices from `start`: one per application, two per change (filer and
    target). Decided filings name `reviewer_id` as who decided. The filings spread over
    `institution_ids`, or over every active institution when none are given.
    """
    kinds, weights = zip(*KIND_WEIGHTS, strict=True)
    institutions = institution_ids or context.institution_ids
    index = start
    with app.app_context():
        change_id = 1 + (db.session.scalar(sa.select(sa.func.max(ManagerChange.id))) or 0)
        db.session.remove()
        for first in range(0, count, BATCH_SIZE):
            rng = random.Random(start + first)  # deterministic per batch
            batch = _Batch(context, state, reviewer_id)
            for _filing in range(min(BATCH_SIZE, count - first)):
                kind, institution_id = rng.choices(kinds, weights)[0], rng.choice(institutions)
                if kind == FORM_A:
                    batch.add_application(rng, index, institution_id)
                    index += 1
                else:
                    batch.add_change(rng, index, change_id, kind, institution_id)
                    index, change_id = index + 2, change_id + 1
            with db.engine.begin() as connection:
                batch.copy(connection)
        with db.engine.begin() as connection:
            after_explicit_ids(connection, ("accounts", "applications", "manager_changes"))
        settle(db.engine)
    return index
