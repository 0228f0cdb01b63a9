"""Keeping the institution list: a portal administrator's search, additions, edits,
deactivations and CSV imports, each one audited.

The CSV import is the command line's too (`flask import-institutions`): one parser
(importer.py), one merge (services.merge_institutions), one audit event.
"""

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from portal.accounts.models import Account, AccountState
from portal.audit.services import Origin, record_event
from portal.errors import DomainError, NotInScope
from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.institutions.importer import RowError, parse_institutions_csv
from portal.institutions.models import Institution
from portal.institutions.services import (
    ImportSummary,
    forget_searches,
    merge_institutions,
    normalize_query,
)

PAGE_SIZE = 50
# An import of the whole country changes tens of thousands of institutions: the audit event
# names this many codes of each kind and counts the rest.
AUDITED_CODES = 500


class InstitutionCodeTaken(DomainError):
    """Another institution already has the code; `field` names the form field."""

    status = 409
    field = "code"

    def __init__(self, existing: Institution | None = None) -> None:
        super().__init__()
        self.message = (
            _l("機構代碼 %(code)s 已是「%(name)s」的代碼。", code=existing.code, name=existing.name)
            if existing
            else _l("這個機構代碼已有機構使用。")
        )


@dataclass(frozen=True)
class InstitutionDetails:
    """An institution as the administrator's form describes it (already checked for format)."""

    code: str
    name: str
    kind: str
    county: str


@dataclass(frozen=True)
class InstitutionPage:
    """One page of a search: the institutions, how many match in all, and the page."""

    institutions: list[Institution]
    total: int
    page: int

    @property
    def has_next(self) -> bool:
        """Whether more matches follow this page."""
        return self.page * PAGE_SIZE < self.total


@dataclass(frozen=True)
class ImportReport:
    """What an uploaded list did: the changes, and every row left out with the reason."""

    summary: ImportSummary
    errors: list[RowError]


def find_institutions(query: str = "", state: str = "", page: int = 1) -> InstitutionPage:
    """Institutions by code prefix or part of the name, active or not, by code."""
    statement = select(Institution)
    query = normalize_query(query)
    if query:
        # LIKE's own wildcards are matched as themselves.
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(
            or_(
                Institution.code.like(f"{escaped}%", escape="\\"),
                Institution.name.like(f"%{escaped}%", escape="\\"),
            )
        )
    if state in ("active", "inactive"):
        statement = statement.where(Institution.active == (state == "active"))
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = db.session.scalars(
        statement.order_by(Institution.code).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    )
    return InstitutionPage(list(rows), total or 0, page)


def institution_by_id(institution_id: int) -> Institution:
    """An institution by id; NotInScope if there is none."""
    institution = db.session.get(Institution, institution_id)
    if institution is None:
        raise NotInScope()
    return institution


def active_account_count(institution: Institution) -> int:
    """How many active accounts belong to the institution."""
    return db.session.scalar(
        select(func.count())
        .select_from(Account)
        .where(Account.institution_id == institution.id, Account.state == AccountState.ACTIVE)
    )


def add_institution(details: InstitutionDetails, origin: Origin, actor: Account) -> Institution:
    """A new, active institution: applicants can choose it at once."""
    existing = db.session.scalar(select(Institution).where(Institution.code == details.code))
    if existing is not None:
        raise InstitutionCodeTaken(existing)
    institution = Institution(
        code=details.code,
        name=details.name,
        kind=details.kind,
        county=details.county,
        active=True,
    )
    db.session.add(institution)
    try:
        db.session.flush()
    except IntegrityError:
        # Another administrator added the same code a moment ago.
        db.session.rollback()
        raise InstitutionCodeTaken() from None
    _audit("institution.created", institution, origin, actor, _described(institution))
    _commit()
    return institution


def change_institution(
    institution_id: int, details: InstitutionDetails, origin: Origin, actor: Account
) -> bool:
    """Correct an institution's name, kind and county (its code is its identity and stays);
    whether anything changed."""
    institution = institution_by_id(institution_id)
    before, after = {}, {}
    for attribute, key in (("name", "name"), ("kind", "institution_kind"), ("county", "county")):
        value = getattr(details, attribute)
        if getattr(institution, attribute) != value:
            before[key], after[key] = getattr(institution, attribute), value
            setattr(institution, attribute, value)
    if not after:
        return False
    _audit("institution.updated", institution, origin, actor, {"before": before, "after": after})
    _commit()
    return True


def set_institution_active(
    institution_id: int, active: bool, origin: Origin, actor: Account
) -> Institution:
    """Deactivate (no new applications) or reactivate an institution; its accounts stay."""
    institution = institution_by_id(institution_id)
    if institution.active != active:
        institution.active = active
        _audit(
            "institution.reactivated" if active else "institution.deactivated",
            institution,
            origin,
            actor,
            {"code": institution.code},
        )
        _commit()
    return institution


def import_institutions_csv(
    data: bytes, file_name: str, origin: Origin, actor: Account | None = None
) -> ImportReport:
    """Parse the file, add and update its good rows, and record one audit event for it."""
    parsed = parse_institutions_csv(data)
    summary = merge_institutions(parsed.records)
    record_event(
        "institution.imported",
        subject_type="institution_list",
        subject_id="-",
        origin=origin,
        actor_account_id=actor.id if actor else None,
        detail={
            "file_name": file_name[:200],
            "created": summary.created,
            "updated": summary.updated,
            "unchanged": summary.unchanged,
            "skipped_rows": len(parsed.errors),
            "created_codes": list(summary.created_codes[:AUDITED_CODES]),
            "updated_codes": list(summary.updated_codes[:AUDITED_CODES]),
        },
    )
    _commit()
    return ImportReport(summary, parsed.errors)


def _described(institution: Institution) -> dict:
    return {
        "code": institution.code,
        "name": institution.name,
        "institution_kind": institution.kind,
        "county": institution.county,
    }


def _audit(action: str, institution: Institution, origin: Origin, actor: Account, detail: dict):
    record_event(
        action,
        subject_type="institution",
        subject_id=institution.code,
        origin=origin,
        actor_account_id=actor.id,
        institution_id=institution.id,
        detail=detail,
    )


def _commit() -> None:
    db.session.commit()
    # This process searches the new list at once; the others within their cache's lifetime.
    forget_searches()
