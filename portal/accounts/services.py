"""Account look-ups and the changes a person makes to their own account."""

from sqlalchemy import exists, select

from portal.accounts.models import Account, AccountState, Role, username_key
from portal.accounts.notifications import send_email_changed
from portal.audit.services import Origin, record_event
from portal.auth.passwords import confirm_current_password
from portal.extensions import db


def username_taken(username: str) -> bool:
    """Whether the account name is in use, regardless of case."""
    return bool(
        db.session.scalar(select(exists().where(Account.username_key == username_key(username))))
    )


def active_managers(institution_id: int) -> list[Account]:
    """The institution's active unit managers."""
    return list(
        db.session.scalars(
            select(Account)
            .where(
                Account.institution_id == institution_id,
                Account.role == Role.MANAGER,
                Account.state == AccountState.ACTIVE,
            )
            .order_by(Account.id)
        )
    )


def account_by_username(username: str) -> Account | None:
    """The account with this name, regardless of case."""
    return db.session.scalar(select(Account).where(Account.username_key == username_key(username)))


def update_contact(
    account: Account,
    *,
    email: str,
    phone: str,
    mobile: str | None,
    department: str | None,
    current_password: str,
    origin: Origin,
) -> None:
    """Change e-mail, phones and department; the old address is told of a new one.

    A new e-mail needs the current password: reset links go to it, so with a stolen session
    alone it would hand over the account. Phones and department do not.
    """
    old_email = account.email if account.email.lower() != email.lower() else None
    if old_email is not None:
        confirm_current_password(account, current_password, origin)
    account.email, account.phone, account.mobile = email, phone, mobile
    account.department = department or None
    record_event(
        "account.contact_changed",
        subject_type="account",
        subject_id=account.id,
        origin=origin,
        actor_account_id=account.id,
        institution_id=account.institution_id,
        detail={"email_changed": old_email is not None},
    )
    if old_email is not None:
        send_email_changed(account, old_email)
    db.session.commit()
