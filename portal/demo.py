"""Demo data for `make run`: realistic institutions, one institution with a manager, staff."""

from sqlalchemy import select

from portal.accounts.models import Account, AccountState, Role, StaffRole
from portal.accounts.services import username_taken
from portal.admin.services import StaffDetails, create_staff
from portal.audit.services import Origin
from portal.content.demo import load_demo_content
from portal.db_types import utcnow
from portal.extensions import db
from portal.institutions.demo_data import DEMO_HOSPITAL, demo_institutions
from portal.institutions.models import Institution
from portal.institutions.services import upsert_institutions
from portal.security.national_ids import encrypt_national_id, national_id_digest
from portal.security.passwords import hash_password
from portal.subsystems.models import RequestState, Subsystem, SubsystemRequest

DEMO_MANAGER_USERNAME = "demo.manager"
DEMO_MANAGER_PASSWORD = "Demo*Manager#2026"
# A valid test number (checksum correct), not a real person's.
DEMO_MANAGER_NATIONAL_ID = "A123456789"
# Staff sign in with a second factor: the first sign-in shows a QR code to enrol.
DEMO_STAFF_PASSWORD = "Demo*Staff#2026"
DEMO_ADMIN_USERNAME = "demo.admin"
DEMO_STAFF = (
    StaffDetails(
        DEMO_ADMIN_USERNAME,
        "入口網管理者",
        "admin@example.org",
        "B123456780",
        StaffRole.PORTAL_ADMIN,
    ),
    StaffDetails(
        "demo.helpdesk", "系統服務窗口", "helpdesk@example.org", "F131104093", StaffRole.HELP_DESK
    ),
    StaffDetails(
        "demo.cessation",
        "戒菸系統管理者",
        "cessation@example.org",
        "A234567893",
        StaffRole.SUBSYSTEM_ADMIN,
        ("cessation",),
    ),
)


def load_demo_data() -> list[str]:
    """Load the demo data; running it again changes nothing. Returns what it did."""
    summary = upsert_institutions(demo_institutions())
    report = [f"institutions: {summary.created} created, {summary.updated} updated"]
    if _ensure_demo_manager():
        report.append(
            f"manager of {DEMO_HOSPITAL.name}: {DEMO_MANAGER_USERNAME} / {DEMO_MANAGER_PASSWORD}"
        )
    if _ensure_demo_access():
        report.append(f"{DEMO_MANAGER_USERNAME}: 戒菸服務系統 approved (open it from 我的子系統)")
    for details in DEMO_STAFF:
        if not username_taken(details.username):
            create_staff(details, DEMO_STAFF_PASSWORD, Origin(remote_addr="demo"))
            report.append(f"{details.role.value}: {details.username} / {DEMO_STAFF_PASSWORD}")
    # The public site's pages, written as the demo portal administrator.
    admin = db.session.scalar(select(Account).where(Account.username_key == DEMO_ADMIN_USERNAME))
    report += load_demo_content(admin)
    return report


def _ensure_demo_access() -> bool:
    """The demo manager may use 戒菸服務系統, so that the demo relying party can be opened."""
    manager = db.session.scalar(
        select(Account).where(Account.username_key == DEMO_MANAGER_USERNAME)
    )
    cessation = db.session.scalar(select(Subsystem).where(Subsystem.code == "cessation"))
    if manager is None or cessation is None:
        return False
    if any(item.subsystem_id == cessation.id for item in manager.subsystem_requests):
        return False
    db.session.add(
        SubsystemRequest(
            account_id=manager.id,
            subsystem_id=cessation.id,
            state=RequestState.APPROVED,
            decided_at=utcnow(),
            justification="示範資料",
        )
    )
    db.session.commit()
    return True


def _ensure_demo_manager() -> bool:
    """An active manager at 臺北虛擬醫院, so general users can apply there."""
    if db.session.scalar(select(Account).where(Account.username_key == DEMO_MANAGER_USERNAME)):
        return False
    hospital = db.session.scalar(select(Institution).where(Institution.code == DEMO_HOSPITAL.code))
    db.session.add(
        Account(
            username=DEMO_MANAGER_USERNAME,
            username_key=DEMO_MANAGER_USERNAME,
            password_hash=hash_password(DEMO_MANAGER_PASSWORD),
            national_id_encrypted=encrypt_national_id(DEMO_MANAGER_NATIONAL_ID),
            national_id_digest=national_id_digest(DEMO_MANAGER_NATIONAL_ID),
            name="王大明",
            phone="02-23456789",
            email="demo.manager@example.org",
            institution=hospital,
            role=Role.MANAGER,
            state=AccountState.ACTIVE,
            activated_at=utcnow(),
        )
    )
    db.session.commit()
    return True
