"""Filing a manager change, withdrawing it, and applying it once approved.

Who may file what (the agency's form, kinds B and C):
- B 停用管理者帳號: a manager, for another manager of the same institution or themselves;
- C.a 升為管理者: a general user for themselves, or a manager for a general user;
- C.b 降為一般使用者: a manager, for themselves or another manager;
- a hand-over: B or C.b for one manager together with C.a for a general user.
An institution with active general users must keep an active manager: a filing that would
leave none is refused before anything is printed, and applying checks it again.

Filing and applying lock the institution's row first, so that two filings or two
applications for one institution run one after the other and each sees the other's result.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.accounts.models import Account, AccountState, Role
from portal.audit.services import Origin, record_event
from portal.auth.services import end_other_sessions
from portal.changes.models import (
    OPEN_CHANGE_STATES,
    ChangeAction,
    ChangeKind,
    ChangeState,
    ManagerChange,
    ManagerChangeItem,
)
from portal.db_types import utcnow
from portal.errors import DomainError, NotInScope
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.institutions.models import Institution
from portal.localtime import TAIPEI, local_now
from portal.locking import for_update
from portal.security.national_ids import national_id_matches

# Attempts at a fresh random change number before giving up (collisions are rare).
CHANGE_NO_ATTEMPTS = 5
# Actions that take a manager away from the institution's managers.
REMOVES_MANAGER = (ChangeAction.DEACTIVATE, ChangeAction.DEMOTE)


class ChangeRefused(DomainError):
    """A rule of filing was broken; `field` is the form field it concerns."""

    status = 422
    field: str | None = "kind"


class NotAllowed(ChangeRefused):
    field = "target_id"
    message = _l("您不能為這個帳號提出這項異動。")


class InvalidHandover(ChangeRefused):
    field = "successor_id"
    message = _l("交接需要一位要停用或降為一般使用者的管理者，以及另一位要升為管理者的一般使用者。")


class WouldLeaveNoManager(ChangeRefused):
    """The institution would keep general users and lose its last manager."""

    field = "kind"
    message = _l(
        "這項異動會讓貴機構還有一般使用者，卻沒有任何單位業務管理者。"
        "請改用「交接」：在同一份申請中，同時指定一位一般使用者升為管理者。"
    )


class AlreadyOpen(ChangeRefused):
    """The account already has a change under way."""

    field = "target_id"

    def __init__(self, change_no: str) -> None:
        super().__init__(change_no)
        self.change_no = change_no
        self.message = _l(
            "這個帳號已有一件進行中的異動申請（編號 %(no)s），請等它完成或撤回後再申請。",
            no=change_no,
        )


class NoLongerApplies(DomainError):
    """Someone's role or state changed since the filing: it cannot be applied as filed."""

    status = 409
    message = _l("申請表上的帳號狀態已經改變（已停用或角色已不同），這件異動無法照原申請套用。")


class NotOpen(DomainError):
    status = 409
    message = _l("這件異動申請已經結束，不能再變更。")


@dataclass(frozen=True)
class Filing:
    """What the filer asked for: one (account, action), or two for a hand-over."""

    items: tuple[tuple[int, ChangeAction], ...]

    @property
    def kind(self) -> ChangeKind:
        """B, C.a, C.b or a hand-over."""
        if len(self.items) == 2:
            return ChangeKind.HANDOVER
        return ChangeKind(self.items[0][1].value)


@dataclass(frozen=True)
class Candidates:
    """Whom a filer may name, by role: the institution's active managers and general users."""

    managers: list[Account]
    general_users: list[Account]


def candidates(filer: Account) -> Candidates:
    """The active people of the filer's institution a change may name."""
    people = db.session.scalars(
        select(Account)
        .where(
            Account.institution_id == filer.institution_id,
            Account.state == AccountState.ACTIVE,
            Account.role.is_not(None),
        )
        .order_by(Account.name, Account.username)
    ).all()
    return Candidates(
        managers=[p for p in people if p.role is Role.MANAGER],
        general_users=[p for p in people if p.role is Role.GENERAL],
    )


def file_change(filer: Account, filing: Filing, origin: Origin) -> ManagerChange:
    """Store the filing, awaiting verification; refused before anything is printed if it
    breaks a rule."""
    _lock_institution(filer.institution_id)
    targets = _targets(filer, filing)
    _check_allowed(filer, filing, targets)
    _check_not_open(targets)
    _check_keeps_a_manager(filer.institution_id, filing, exclude_change_id=None)
    for _attempt in range(CHANGE_NO_ATTEMPTS):
        change = _build(filer, filing)
        record_event(
            "manager_change.filed",
            subject_type="manager_change",
            subject_id=change.change_no,
            origin=origin,
            actor_account_id=filer.id,
            institution_id=filer.institution_id,
            detail={"kind": filing.kind.value, "accounts": [a for a, _ in filing.items]},
        )
        try:
            db.session.commit()
            return change
        except IntegrityError:
            db.session.rollback()
            # A simultaneous filing for the same account won: say which one.
            _lock_institution(filer.institution_id)
            _check_not_open(_targets(filer, filing))
            # Otherwise the random number collided: draw another.
    raise DomainError()


def withdraw(filer: Account, change_id: int, origin: Origin) -> ManagerChange:
    """The filer takes back a filing that is still open."""
    change = db.session.scalar(
        for_update(select(ManagerChange).where(ManagerChange.id == change_id))
    )
    if change is None or change.filed_by_id != filer.id:
        db.session.rollback()
        raise NotInScope()
    if not change.is_open:
        db.session.rollback()
        raise NotOpen()
    change.state = ChangeState.WITHDRAWN
    change.decided_at = utcnow()
    _close_items(change)
    record_event(
        "manager_change.withdrawn",
        subject_type="manager_change",
        subject_id=change.change_no,
        origin=origin,
        actor_account_id=filer.id,
        institution_id=change.institution_id,
    )
    db.session.commit()
    return change


def apply_change(change: ManagerChange, now: datetime) -> list[Account]:
    """Apply an approved filing to its accounts, in the caller's transaction.

    The institution and then the accounts are locked; each account must still be as the
    filing found it, and the institution must keep a manager. Returns the accounts changed.
    """
    _lock_institution(change.institution_id)
    ids = sorted(item.account_id for item in change.items)
    accounts = {
        a.id: a for a in db.session.scalars(for_update(select(Account).where(Account.id.in_(ids))))
    }
    for item in change.items:
        if not _still_applies(accounts[item.account_id], item.action):
            raise NoLongerApplies()
    filing = Filing(tuple((item.account_id, item.action) for item in change.items))
    _check_keeps_a_manager(change.institution_id, filing, exclude_change_id=change.id)
    for item in change.items:
        account = accounts[item.account_id]
        if item.action is ChangeAction.DEACTIVATE:
            account.state = AccountState.DEACTIVATED
            end_other_sessions(account, reason="deactivated")
        elif item.action is ChangeAction.PROMOTE:
            account.role = Role.MANAGER
        else:
            account.role = Role.GENERAL
    change.state, change.decided_at = ChangeState.APPROVED, now
    _close_items(change)
    return list(accounts.values())


def change_in_scope(person: Account, change_id: int) -> ManagerChange:
    """A filing the person filed, is named in, or (a manager) one of their institution's."""
    change = db.session.scalar(
        select(ManagerChange)
        .where(ManagerChange.id == change_id)
        .options(selectinload(ManagerChange.items).joinedload(ManagerChangeItem.account))
    )
    if change is None or not _may_see(person, change):
        raise NotInScope()
    return change


def changes_of(person: Account) -> list[ManagerChange]:
    """Filings the person filed or is named in, newest first (我的帳號)."""
    named = select(ManagerChangeItem.change_id).where(ManagerChangeItem.account_id == person.id)
    return list(
        db.session.scalars(
            select(ManagerChange)
            .where((ManagerChange.filed_by_id == person.id) | ManagerChange.id.in_(named))
            .order_by(ManagerChange.submitted_at.desc())
            .options(selectinload(ManagerChange.items).joinedload(ManagerChangeItem.account))
        )
    )


def institution_changes(manager: Account) -> list[ManagerChange]:
    """Every filing of the manager's institution, newest first."""
    return list(
        db.session.scalars(
            select(ManagerChange)
            .where(ManagerChange.institution_id == manager.institution_id)
            .order_by(ManagerChange.submitted_at.desc())
            .options(selectinload(ManagerChange.items).joinedload(ManagerChangeItem.account))
        )
    )


def change_by_number(change_no: str) -> ManagerChange | None:
    """The filing with this number, with its accounts."""
    return db.session.scalar(
        select(ManagerChange)
        .where(ManagerChange.change_no == change_no.strip().upper())
        .options(selectinload(ManagerChange.items).joinedload(ManagerChangeItem.account))
    )


def is_change_number(number: str) -> bool:
    """Whether a number someone typed is a change's (M…) rather than an application's."""
    return number.strip().upper().startswith("M")


def find_change(change_no: str, national_id: str) -> ManagerChange | None:
    """The change with this number, if the ID number is its filer's or a named person's."""
    change = change_by_number(change_no)
    if change is None:
        return None
    people = [change.filed_by, *(item.account for item in change.items)]
    matches = [national_id_matches(p.national_id_digest, national_id) for p in people]
    return change if any(matches) else None


def new_change_no(now: datetime | None = None) -> str:
    """A fresh change number: M, the Taipei date and six random digits."""
    now = now or local_now()
    return "M" + now.astimezone(TAIPEI).strftime("%Y%m%d") + f"{secrets.randbelow(10**6):06d}"


def _may_see(person: Account, change: ManagerChange) -> bool:
    if change.filed_by_id == person.id or any(i.account_id == person.id for i in change.items):
        return True
    return person.is_manager and person.institution_id == change.institution_id


def _lock_institution(institution_id: int | None) -> None:
    """Serialise filings and applications of one institution (SQLite serialises writers).

    FOR NO KEY UPDATE, not FOR UPDATE: every insert that names the institution (an audit
    event, say) takes a KEY SHARE lock on its row to check the foreign key. FOR UPDATE would
    make a manager approving a general user (holding their own account's lock, then writing
    the audit event) deadlock with a change applied to that manager.
    """
    db.session.execute(
        select(Institution.id)
        .where(Institution.id == institution_id)
        .with_for_update(key_share=True)
    )


def _targets(filer: Account, filing: Filing) -> dict[int, Account]:
    """The named accounts, all active and of the filer's institution; NotAllowed otherwise."""
    ids = [account_id for account_id, _ in filing.items]
    found = {
        a.id: a for a in db.session.scalars(for_update(select(Account).where(Account.id.in_(ids))))
    }
    for account_id in ids:
        account = found.get(account_id)
        if (
            account is None
            or account.institution_id != filer.institution_id
            or account.state is not AccountState.ACTIVE
        ):
            db.session.rollback()
            raise NotAllowed()
    return found


def _check_allowed(filer: Account, filing: Filing, targets: dict[int, Account]) -> None:
    """Who may ask for what (see the module's docstring)."""
    if len(filing.items) == 2:
        actions = sorted(action.value for _, action in filing.items)
        distinct = filing.items[0][0] != filing.items[1][0]
        if not distinct or actions not in (["deactivate", "promote"], ["demote", "promote"]):
            db.session.rollback()
            raise InvalidHandover()
    elif len(filing.items) != 1:
        db.session.rollback()
        raise InvalidHandover()
    for account_id, action in filing.items:
        if not _may_file(filer, targets[account_id], action):
            db.session.rollback()
            raise NotAllowed()


def _may_file(filer: Account, target: Account, action: ChangeAction) -> bool:
    if action is ChangeAction.PROMOTE:
        return target.role is Role.GENERAL and (filer.is_manager or filer.id == target.id)
    return filer.is_manager and target.role is Role.MANAGER


def _still_applies(account: Account, action: ChangeAction) -> bool:
    wanted_role = Role.GENERAL if action is ChangeAction.PROMOTE else Role.MANAGER
    return account.state is AccountState.ACTIVE and account.role is wanted_role


def _check_not_open(targets: dict[int, Account]) -> None:
    """One open filing per account: name the one under way."""
    open_one = db.session.scalar(
        select(ManagerChange.change_no)
        .join(ManagerChangeItem, ManagerChangeItem.change_id == ManagerChange.id)
        .where(ManagerChangeItem.open_account_id.in_(list(targets)))
        .limit(1)
    )
    if open_one is not None:
        db.session.rollback()
        raise AlreadyOpen(open_one)


def _check_keeps_a_manager(
    institution_id: int, filing: Filing, exclude_change_id: int | None
) -> None:
    """Refuse a filing after which general users would be left with no manager.

    Managers that other open filings would remove count as gone already: two managers
    each filing to remove the other must not both get through.
    """
    removed = {a for a, action in filing.items if action in REMOVES_MANAGER}
    promoted = {a for a, action in filing.items if action is ChangeAction.PROMOTE}
    demoted = {a for a, action in filing.items if action is ChangeAction.DEMOTE}
    pending_removals = (
        select(ManagerChangeItem.account_id)
        .join(ManagerChange, ManagerChange.id == ManagerChangeItem.change_id)
        .where(
            ManagerChange.institution_id == institution_id,
            ManagerChange.state.in_(OPEN_CHANGE_STATES),
            ManagerChangeItem.action.in_(REMOVES_MANAGER),
        )
    )
    if exclude_change_id is not None:
        pending_removals = pending_removals.where(ManagerChange.id != exclude_change_id)
    counts = dict(
        db.session.execute(
            select(Account.role, func.count())
            .where(
                Account.institution_id == institution_id,
                Account.state == AccountState.ACTIVE,
                Account.id.not_in(removed | promoted),
                ~(Account.id.in_(pending_removals) & (Account.role == Role.MANAGER)),
            )
            .group_by(Account.role)
        ).all()
    )
    managers_left = counts.get(Role.MANAGER, 0) + len(promoted)
    general_left = counts.get(Role.GENERAL, 0) + len(demoted)
    if managers_left == 0 and general_left > 0:
        db.session.rollback()
        raise WouldLeaveNoManager()


def _build(filer: Account, filing: Filing) -> ManagerChange:
    change = ManagerChange(
        change_no=new_change_no(),
        institution_id=filer.institution_id,
        filed_by_id=filer.id,
        kind=filing.kind,
        state=ChangeState.AWAITING_VERIFICATION,
        items=[
            ManagerChangeItem(account_id=account_id, action=action, open_account_id=account_id)
            for account_id, action in filing.items
        ],
    )
    db.session.add(change)
    return change


def _close_items(change: ManagerChange) -> None:
    """The accounts are free for another filing."""
    for item in change.items:
        item.open_account_id = None
