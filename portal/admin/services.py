"""Agency staff accounts: created from the command line or by a portal administrator."""

import secrets
from dataclasses import dataclass

from sqlalchemy import select
from werkzeug.exceptions import NotFound

from portal.accounts.models import Account, AccountState, StaffRole, username_key
from portal.accounts.services import username_taken
from portal.audit.services import Origin, record_event
from portal.auth.notifications import send_reset_link
from portal.auth.passwords import issue_reset_token
from portal.auth.services import end_other_sessions
from portal.db_types import utcnow
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.identity.identifiers import normalize_national_id
from portal.locking import for_update
from portal.security.national_ids import encrypt_national_id, national_id_digest
from portal.security.passwords import hash_password
from portal.subsystems.models import Subsystem

# A new staff member's link to set a first password lasts longer than a reset link.
INVITATION_MINUTES = 24 * 60


class StaffError(Exception):
    """A staff change broke a rule; `field` names the form field."""

    field: str | None = None
    message = _l("無法完成。")


class StaffUsernameTaken(StaffError):
    field = "username"
    message = _l("此帳號已有人使用，請換一個帳號名稱。")


class SubsystemsRequired(StaffError):
    field = "subsystems"
    message = _l("子系統管理者至少要管理一個子系統。")


class LastPortalAdmin(StaffError):
    field = "role"
    message = _l("這是最後一位啟用中的入口網管理者，請先指派另一位，再變更這個帳號。")


@dataclass(frozen=True)
class StaffDetails:
    """A staff account as a portal administrator or the CLI describes it."""

    username: str
    name: str
    email: str
    national_id: str
    role: StaffRole
    subsystem_codes: tuple[str, ...] = ()


def create_staff(
    details: StaffDetails, password: str | None, origin: Origin, actor: Account | None = None
) -> Account:
    """Create an active staff account. Without a password it gets an unusable one, and the
    person is e-mailed a link to set their own (valid INVITATION_MINUTES)."""
    if username_taken(details.username):
        raise StaffUsernameTaken()
    national_id = normalize_national_id(details.national_id)
    account = Account(
        username=details.username.strip(),
        username_key=username_key(details.username),
        # Nobody knows a random password: the person sets their own through a reset link.
        password_hash=hash_password(password or secrets.token_urlsafe(32)),
        national_id_encrypted=encrypt_national_id(national_id),
        national_id_digest=national_id_digest(national_id),
        name=details.name.strip(),
        phone="",
        email=details.email.strip(),
        staff_role=details.role,
        state=AccountState.ACTIVE,
        activated_at=utcnow(),
    )
    account.administered_subsystems = _subsystems_for(details.role, details.subsystem_codes)
    db.session.add(account)
    db.session.flush()
    _audit("staff.created", account, origin, actor, {"role": details.role.value})
    if password is None:
        token = issue_reset_token(account, INVITATION_MINUTES)
        send_reset_link(account, token, INVITATION_MINUTES)
    db.session.commit()
    return account


def staff_accounts() -> list[Account]:
    """Every staff account, by role then name."""
    return list(
        db.session.scalars(
            select(Account)
            .where(Account.staff_role.is_not(None))
            .order_by(Account.staff_role, Account.username)
        )
    )


def staff_account(account_id: int) -> Account:
    """A staff account by id; 404 for anything else."""
    account = db.session.get(Account, account_id)
    if account is None or account.staff_role is None:
        raise NotFound()
    return account


def change_staff(
    account: Account,
    role: StaffRole,
    subsystem_codes: tuple[str, ...],
    active: bool,
    origin: Origin,
    actor: Account,
) -> None:
    """Change a staff member's role, subsystems and whether the account is active."""
    if not (role is StaffRole.PORTAL_ADMIN and active):
        _keep_a_portal_admin(account)
    before = {
        "role": account.staff_role.value,
        "subsystems": [s.code for s in account.administered_subsystems],
        "active": account.is_active,
    }
    account.staff_role = role
    account.administered_subsystems = _subsystems_for(role, subsystem_codes)
    if account.is_active and not active:
        end_other_sessions(account, reason="deactivated")
    account.state = AccountState.ACTIVE if active else AccountState.DEACTIVATED
    after = {"role": role.value, "subsystems": list(subsystem_codes), "active": active}
    _audit("staff.role_changed", account, origin, actor, {"before": before, "after": after})
    db.session.commit()


def _keep_a_portal_admin(leaving: Account) -> None:
    """Refuse to leave the portal with no active administrator to manage staff.

    The active administrators' rows are locked, so two of them demoting each other at
    once are decided one after the other, and the second is refused.
    """
    admins = db.session.scalars(
        for_update(
            select(Account).where(
                Account.staff_role == StaffRole.PORTAL_ADMIN,
                Account.state == AccountState.ACTIVE,
            )
        )
    ).all()
    if [admin.id for admin in admins] == [leaving.id]:
        db.session.rollback()
        raise LastPortalAdmin()


def _subsystems_for(role: StaffRole, codes: tuple[str, ...]) -> list[Subsystem]:
    if role is not StaffRole.SUBSYSTEM_ADMIN:
        return []
    subsystems = list(db.session.scalars(select(Subsystem).where(Subsystem.code.in_(codes))))
    if not subsystems or len(subsystems) != len(set(codes)):
        raise SubsystemsRequired()
    return subsystems


def _audit(action: str, account: Account, origin: Origin, actor: Account | None, detail: dict):
    record_event(
        action,
        subject_type="account",
        subject_id=account.id,
        origin=origin,
        actor_account_id=actor.id if actor else None,
        detail=detail,
    )
