"""Submitting an application and finding it again.

Services take plain values, enforce the rules, and raise `RegistrationError`s that name the
field they concern; they never touch the request or templates.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.accounts.models import Account, AccountState, Role, username_key
from portal.accounts.services import username_taken
from portal.audit.services import Origin, record_event
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.identity.identifiers import normalize_national_id
from portal.institutions.models import Institution
from portal.localtime import TAIPEI, local_now
from portal.manager.notifications import announce_application
from portal.registration.models import OPEN_STATES, Application, ApplicationState
from portal.registration.notifications import send_application_received
from portal.security.national_ids import (
    encrypt_national_id,
    national_id_digest,
    national_id_matches,
)
from portal.security.passwords import hash_password
from portal.subsystems.models import Subsystem, SubsystemRequest

# Attempts at a fresh random application number before giving up (collisions are rare).
APPLICATION_NO_ATTEMPTS = 5


class RegistrationError(Exception):
    """A rule of registration was broken; `field` is the form field it concerns."""

    field: str | None = None
    message = _l("申請未能完成，請稍後再試。")

    def __str__(self) -> str:
        return str(self.message)


class InstitutionNotFound(RegistrationError):
    field = "institution_code"
    message = _l("查無此醫事機構代碼，請確認後再輸入，或以名稱搜尋。")


class InstitutionInactive(RegistrationError):
    """The code is an institution's, but the agency has closed it: said so, with its name."""

    field = "institution_code"

    def __init__(self, institution: Institution) -> None:
        super().__init__()
        self.message = _l(
            "「%(name)s」（%(code)s）已停用，不能申請帳號。如機構仍在營業，請洽系統服務窗口。",
            name=institution.name,
            code=institution.code,
        )


class InstitutionHasNoManager(RegistrationError):
    field = "role"
    message = _l(
        "此機構尚無單位業務管理者，也沒有審核中的管理者申請，所以還不能申請一般使用者。"
        "請先由機構申請單位業務管理者帳號。"
    )


class UsernameTaken(RegistrationError):
    field = "username"
    message = _l("此帳號已有人使用，請換一個帳號名稱。")


class UnknownSubsystem(RegistrationError):
    field = "subsystems"
    message = _l("勾選的子系統不存在或已停用，請重新勾選。")


@dataclass(frozen=True)
class ApplicantDetails:
    """What the applicant typed, already checked for format by the form."""

    institution_code: str
    role: Role
    username: str
    password: str
    national_id: str
    name: str
    department: str | None
    phone: str
    mobile: str | None
    email: str
    subsystem_codes: tuple[str, ...]
    submission_token: str


def find_institution(code: str) -> Institution | None:
    """The active institution with this code, if any."""
    return db.session.scalar(
        select(Institution).where(Institution.code == code.strip(), Institution.active)
    )


def closed_institution(code: str) -> Institution | None:
    """The inactive institution with this code, if that is what the code is."""
    return db.session.scalar(
        select(Institution).where(Institution.code == code.strip(), Institution.active.is_(False))
    )


def accepts_general_users(institution: Institution) -> bool:
    """Whether the institution has an active manager or a manager application under way."""
    active_manager = exists().where(
        Account.institution_id == institution.id,
        Account.role == Role.MANAGER,
        Account.state == AccountState.ACTIVE,
    )
    manager_application = exists().where(
        Application.institution_id == institution.id,
        Application.state.in_(OPEN_STATES),
        Application.account_id == Account.id,
        Account.role == Role.MANAGER,
    )
    return bool(db.session.scalar(select(active_manager | manager_application)))


def manager_application_refused(institution: Institution) -> bool:
    """Whether the institution's manager application was refused and nothing took its place:
    no active manager, and no manager application under way."""
    refused = exists().where(
        Application.institution_id == institution.id,
        Application.state == ApplicationState.REFUSED,
        Application.account_id == Account.id,
        Account.role == Role.MANAGER,
    )
    return not accepts_general_users(institution) and bool(db.session.scalar(select(refused)))


def is_left_without_manager(application: Application) -> bool:
    """Whether a general user's application waits at an institution whose manager
    application was refused, so that nobody can decide it for now."""
    return application.state is ApplicationState.AWAITING_MANAGER and manager_application_refused(
        application.institution
    )


def applications_left_without_manager(institution: Institution) -> list[Application]:
    """The general users' applications waiting at the institution, if its manager application
    was refused and nothing took its place; none otherwise."""
    if not manager_application_refused(institution):
        return []
    return list(
        db.session.scalars(
            select(Application)
            .where(
                Application.institution_id == institution.id,
                Application.state == ApplicationState.AWAITING_MANAGER,
            )
            .options(joinedload(Application.account))
            .order_by(Application.submitted_at, Application.id)
        )
    )


def submit_application(details: ApplicantDetails, origin: Origin) -> tuple[Application, bool]:
    """Store the account, its application and subsystem requests; one per submission token.
    The applicant's receipt and the managers' notice are queued with them.

    Returns the application and whether this call created it (False: the token had been
    used already, by an earlier or a simultaneous submission of the same form, which sent
    the e-mails).
    """
    existing = application_by_token(details.submission_token)
    if existing is not None:
        return existing, False
    institution = find_institution(details.institution_code)
    if institution is None:
        closed = closed_institution(details.institution_code)
        raise InstitutionInactive(closed) if closed else InstitutionNotFound()
    if details.role is Role.GENERAL and not accepts_general_users(institution):
        raise InstitutionHasNoManager()
    subsystems = _subsystems_by_code(details.subsystem_codes)
    if username_taken(details.username):
        raise UsernameTaken()
    password_hash = hash_password(details.password)
    for _attempt in range(APPLICATION_NO_ATTEMPTS):
        application = _build_application(details, institution, subsystems, password_hash)
        record_event(
            "application.submitted",
            subject_type="application",
            subject_id=application.application_no,
            origin=origin,
            institution_id=institution.id,
            detail={"role": details.role.value, "subsystems": list(details.subsystem_codes)},
        )
        try:
            # Finding the managers to tell flushes the new rows: a lost race (the same
            # token, the same account name) may surface there as well as at the commit.
            send_application_received(application)
            announce_application(application)
            db.session.commit()
            return application, True
        except IntegrityError:
            db.session.rollback()
            # Whoever won the race decides what this submission becomes.
            existing = application_by_token(details.submission_token)
            if existing is not None:
                return existing, False
            if username_taken(details.username):
                raise UsernameTaken() from None
            # Otherwise the random application number collided: draw another.
    raise RegistrationError()


def application_by_token(token: str) -> Application | None:
    """The application a submission token already made, if any."""
    return db.session.scalar(select(Application).where(Application.submission_token == token))


def application_by_number(application_no: str) -> Application | None:
    """The application with this number, if any, with its account (every caller reads it)."""
    return db.session.scalar(
        select(Application)
        .where(Application.application_no == application_no.strip())
        .options(joinedload(Application.account))
    )


def find_application(application_no: str, national_id: str) -> Application | None:
    """The application with this number, if the ID number is the applicant's."""
    application = application_by_number(application_no)
    if application is None or not national_id_matches(
        application.account.national_id_digest, national_id
    ):
        return None
    return application


def _subsystems_by_code(codes: tuple[str, ...]) -> list[Subsystem]:
    if not codes:
        return []
    found = db.session.scalars(
        select(Subsystem).where(Subsystem.code.in_(codes), Subsystem.active)
    ).all()
    if len(found) != len(set(codes)):
        raise UnknownSubsystem()
    return list(found)


def _build_application(
    details: ApplicantDetails,
    institution: Institution,
    subsystems: list[Subsystem],
    password_hash: str,
) -> Application:
    national_id = normalize_national_id(details.national_id)
    account = Account(
        username=details.username.strip(),
        username_key=username_key(details.username),
        password_hash=password_hash,
        national_id_encrypted=encrypt_national_id(national_id),
        national_id_digest=national_id_digest(national_id),
        name=details.name.strip(),
        department=details.department or None,
        phone=details.phone,
        mobile=details.mobile or None,
        email=details.email,
        institution=institution,
        role=details.role,
        state=AccountState.PENDING,
    )
    account.subsystem_requests = [SubsystemRequest(subsystem=s) for s in subsystems]
    state = (
        ApplicationState.AWAITING_VERIFICATION
        if details.role is Role.MANAGER
        else ApplicationState.AWAITING_MANAGER
    )
    application = Application(
        application_no=new_application_no(),
        submission_token=details.submission_token,
        account=account,
        institution_id=institution.id,
        state=state,
    )
    db.session.add(application)
    return application


def new_application_no(now: datetime | None = None) -> str:
    """A fresh application number: the Taipei date and six random digits."""
    now = now or local_now()
    return now.astimezone(TAIPEI).strftime("%Y%m%d") + f"{secrets.randbelow(10**6):06d}"
