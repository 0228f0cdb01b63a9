"""Factories: valid objects with sensible defaults; a test overrides only what it cares about."""

import itertools
import secrets

from portal.accounts.models import Account, AccountState, Role
from portal.db_types import utcnow
from portal.extensions import db
from portal.institutions.models import Institution
from portal.registration.models import Application, ApplicationState
from portal.registration.services import new_application_no
from portal.security.national_ids import encrypt_national_id, national_id_digest
from portal.security.passwords import hash_password
from portal.verification.models import PaperScan

_sequence = itertools.count(1)

# Valid ID numbers (checksums correct); none is a real person's.
NATIONAL_IDS = ["A123456789", "B123456780", "F131104093", "A234567893", "Y135782908"]
RESIDENT_OLD_ID = "AC01234567"
RESIDENT_NEW_ID = "A800000014"
STRONG_PASSWORD = "Tz9*kq~Wm!x2"


def next_number() -> int:
    """A number no other factory object of this run has used."""
    return next(_sequence)


def institution(**overrides) -> Institution:
    """An active clinic with a unique code."""
    number = next(_sequence)
    values = {
        "code": f"88{number:08d}",
        "name": f"測試診所{number}",
        "kind": "診所",
        "county": "臺北市",
        "active": True,
    }
    values.update(overrides)
    item = Institution(**values)
    db.session.add(item)
    db.session.flush()
    return item


def account(**overrides) -> Account:
    """A pending general user at a new institution, with the strong test password."""
    number = next(_sequence)
    national_id = overrides.pop("national_id", NATIONAL_IDS[0])
    password = overrides.pop("password", STRONG_PASSWORD)
    values = {
        "username": f"user{number}",
        "name": "測試人員",
        "phone": "02-12345678",
        "email": f"user{number}@example.org",
        "role": Role.GENERAL,
        "state": AccountState.PENDING,
    }
    values.update(overrides)
    values.setdefault("username_key", values["username"].casefold())
    if "institution" not in values and "institution_id" not in values:
        values["institution"] = institution()
    if values.get("institution") is None:
        values.pop("institution")
    item = Account(
        password_hash=hash_password(password),
        national_id_encrypted=encrypt_national_id(national_id),
        national_id_digest=national_id_digest(national_id),
        **values,
    )
    if item.state is AccountState.ACTIVE:
        item.activated_at = utcnow()
    db.session.add(item)
    db.session.flush()
    return item


def active_manager(institution_: Institution) -> Account:
    """An active unit manager of the institution."""
    return account(institution=institution_, role=Role.MANAGER, state=AccountState.ACTIVE)


def application(account_: Account | None = None, **overrides) -> Application:
    """An application for the account (a new pending general user by default)."""
    account_ = account_ or account()
    state = (
        ApplicationState.AWAITING_VERIFICATION
        if account_.role is Role.MANAGER
        else ApplicationState.AWAITING_MANAGER
    )
    values = {
        "application_no": new_application_no(),
        "submission_token": secrets.token_urlsafe(16),
        "account": account_,
        "institution_id": account_.institution_id,
        "state": state,
    }
    values.update(overrides)
    item = Application(**values)
    db.session.add(item)
    db.session.flush()
    return item


def staff(role, subsystem_codes: tuple[str, ...] = (), **overrides) -> Account:
    """An active agency staff account with its second factor enrolled."""
    import pyotp
    from sqlalchemy import select

    from portal.security.encryption import encrypt_text
    from portal.subsystems.models import Subsystem

    number = next(_sequence)
    values = {
        "username": f"staff{number}",
        "name": "署內人員",
        "phone": "",
        "email": f"staff{number}@hpa.example.gov.tw",
        "staff_role": role,
        "state": AccountState.ACTIVE,
        "totp_secret_encrypted": encrypt_text(pyotp.random_base32()),
        "totp_confirmed_at": utcnow(),
    }
    values.update(overrides)
    item = account(role=None, institution=None, **values)
    item.administered_subsystems = list(
        db.session.scalars(select(Subsystem).where(Subsystem.code.in_(subsystem_codes)))
    )
    db.session.flush()
    return item


def totp_code(account_: Account, offset_steps: int = 0) -> str:
    """The code the person's authenticator app shows now."""
    import time

    import pyotp

    from portal.security.encryption import decrypt_text

    totp = pyotp.TOTP(decrypt_text(account_.totp_secret_encrypted))
    return totp.at(time.time() + offset_steps * 30)


def paper_scan(application_: Application) -> PaperScan:
    """A stamped scan on record for the application (its file is never read).

    As an upload does, it puts the application on paper (paper_at).
    """
    application_.paper_at = application_.paper_at or utcnow()
    scan = PaperScan(
        application_id=application_.id,
        stored_name=f"{application_.id}.png",
        original_name="scan.png",
        content_type="image/png",
        size=72,
        sha256="0" * 64,
    )
    db.session.add(scan)
    db.session.flush()
    return scan
