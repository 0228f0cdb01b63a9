"""Searching the institution list and loading it from records."""

import bisect
import time
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from portal.extensions import db
from portal.institutions.models import Institution
from portal.institutions.records import InstitutionRecord, is_valid_code

SEARCH_LIMIT = 10
# Longest query worth searching; longer input is cut rather than refused.
MAX_QUERY_LENGTH = 50


def normalize_query(query: str) -> str:
    """People type 台 as often as 臺; the list spells it 臺."""
    return query.strip()[:MAX_QUERY_LENGTH].replace("台", "臺")


@dataclass(frozen=True)
class InstitutionSummary:
    """What the picker shows of an institution: plain values, safe to keep between requests."""

    code: str
    name: str
    kind: str
    county: str
    active: bool = True


class Directory:
    """Every active (or every inactive) institution, held in memory and searched there.

    The picker searches on every pause in typing, mostly for two or three characters of a
    name: `LIKE '%診所%'` cannot use an index (pg_trgm needs three characters and more), so
    each search read the whole table, ~4 ms of PostgreSQL. The list is small (the country
    has some 30,000 institutions: about 15 MB per process) and changes seldom (imports, an
    administrator's edits), so each process keeps it, sorted as the picker lists it, and
    finds names with `str.find` over one string of all of them; a copy older than
    INSTITUTION_SEARCH_CACHE_SECONDS is read again, and a full code the copy lacks is looked
    up in the database (a clinic added a moment ago through another process).
    """

    # Between names in `_names`: no name or query contains it (queries are refused with it).
    SEPARATOR = "\n"

    def __init__(self, institutions: Iterable[InstitutionSummary]) -> None:
        self.loaded_at = time.monotonic()
        self._by_name = sorted(institutions, key=lambda i: (i.name, i.code))
        self._by_code = sorted(self._by_name, key=lambda i: i.code)
        self._codes = [institution.code for institution in self._by_code]
        # Where each name starts in `_names`, to map a hit back to its institution.
        self._starts: list[int] = []
        folded: list[str] = []
        offset = 0
        for institution in self._by_name:
            self._starts.append(offset)
            name = institution.name.casefold()
            folded.append(name)
            offset += len(name) + len(self.SEPARATOR)
        self._names = self.SEPARATOR.join(folded)

    @classmethod
    def load(cls, active: bool = True) -> "Directory":
        """The active (or the inactive) institutions as the database has them now."""
        rows = db.session.execute(
            select(
                Institution.code,
                Institution.name,
                Institution.kind,
                Institution.county,
                Institution.active,
            ).where(Institution.active == active)
        )
        return cls(InstitutionSummary(*row) for row in rows)

    def search(self, query: str, limit: int) -> list[InstitutionSummary]:
        """Code prefix for digits (by code), else part of the name (by name, then code)."""
        if query.isascii() and query.isdigit():
            first = bisect.bisect_left(self._codes, query)
            found = self._by_code[first : first + limit]
            return [institution for institution in found if institution.code.startswith(query)]
        needle = query.casefold()
        if self.SEPARATOR in needle:
            return []
        found: list[InstitutionSummary] = []
        position = self._names.find(needle)
        while position >= 0 and len(found) < limit:
            index = bisect.bisect_right(self._starts, position) - 1
            found.append(self._by_name[index])
            # On to the next name: one institution is listed once however often it matches.
            following = index + 1
            if following == len(self._starts):
                break
            position = self._names.find(needle, self._starts[following])
        return found


# One pair of directories (active, inactive) per database: one process may serve several
# apps (the tests do).
_directories: dict[tuple[str, bool], Directory] = {}


def search_institutions(query: str, limit: int = SEARCH_LIMIT) -> list[InstitutionSummary]:
    """Institutions whose code starts with, or whose name contains, the query: the active
    ones first, then, in the room left, inactive ones (`active` False), so that a closed
    clinic is named as closed rather than not found."""
    query = normalize_query(query)
    if not query:
        return []
    found = _directory(active=True).search(query, limit)
    if len(found) < limit:
        found += _directory(active=False).search(query, limit - len(found))
    if not found and is_valid_code(query):
        # Added or changed in another process since its copy was read: the database knows.
        found = [summary for summary in [_summary_by_code(query)] if summary is not None]
    return found


def _summary_by_code(code: str) -> InstitutionSummary | None:
    institution = db.session.scalar(select(Institution).where(Institution.code == code))
    if institution is None:
        return None
    return InstitutionSummary(
        institution.code,
        institution.name,
        institution.kind,
        institution.county,
        institution.active,
    )


def _directory(active: bool) -> Directory:
    key = (current_app.config["SQLALCHEMY_DATABASE_URI"], active)
    lifetime = current_app.config["INSTITUTION_SEARCH_CACHE_SECONDS"]
    directory = _directories.get(key)
    if directory is None or time.monotonic() - directory.loaded_at >= lifetime:
        directory = _directories[key] = Directory.load(active)
    return directory


def forget_searches() -> None:
    """Read the list again at the next search (after it changed in this process)."""
    _directories.clear()


@dataclass(frozen=True)
class ImportSummary:
    """How an import changed the list: counts, and the codes created and updated."""

    created: int
    updated: int
    unchanged: int
    created_codes: tuple[str, ...] = ()
    updated_codes: tuple[str, ...] = ()


def upsert_institutions(records: Iterable[InstitutionRecord]) -> ImportSummary:
    """Create new institutions and update changed ones, matched by code; never duplicate."""
    summary = merge_institutions(records)
    db.session.commit()
    forget_searches()
    return summary


def merge_institutions(records: Iterable[InstitutionRecord]) -> ImportSummary:
    """Add or update the records' institutions in the session; the caller commits."""
    records = list(records)
    existing = (
        {
            institution.code: institution
            for institution in db.session.scalars(
                select(Institution).where(Institution.code.in_([r.code for r in records]))
            )
        }
        if len(records) <= 5000
        else {i.code: i for i in db.session.scalars(select(Institution))}
    )
    created: list[str] = []
    updated: list[str] = []
    unchanged = 0
    for record in records:
        institution = existing.get(record.code)
        if institution is None:
            db.session.add(_from_record(record))
            created.append(record.code)
        elif _apply(institution, record):
            updated.append(record.code)
        else:
            unchanged += 1
    return ImportSummary(len(created), len(updated), unchanged, tuple(created), tuple(updated))


def _from_record(record: InstitutionRecord) -> Institution:
    return Institution(
        code=record.code,
        name=record.name,
        kind=record.kind,
        county=record.county,
        active=record.active,
    )


def _apply(institution: Institution, record: InstitutionRecord) -> bool:
    """Copy the record's values onto the row; whether anything changed."""
    changed = False
    for attribute in ("name", "kind", "county", "active"):
        value = getattr(record, attribute)
        if getattr(institution, attribute) != value:
            setattr(institution, attribute, value)
            changed = True
    return changed
