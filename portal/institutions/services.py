"""Searching the institution list and loading it from records."""

import time
from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import or_, select

from portal.extensions import db
from portal.institutions.models import Institution
from portal.institutions.records import InstitutionRecord

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


# The list changes only through imports, so a minute-old answer is good enough
# (INSTITUTION_SEARCH_CACHE_SECONDS), and the picker asks the same few prefixes over and
# over while people type.
SEARCH_CACHE_SIZE = 2048
_search_cache: dict[tuple[str, str, int], tuple[float, list[InstitutionSummary]]] = {}


def search_institutions(query: str, limit: int = SEARCH_LIMIT) -> list[InstitutionSummary]:
    """Active institutions whose code starts with, or whose name contains, the query."""
    query = normalize_query(query)
    if not query:
        return []
    # Keyed by database too: one process may serve several apps (tests do).
    key = (current_app.config["SQLALCHEMY_DATABASE_URI"], query, limit)
    cached = _search_cache.get(key)
    lifetime = current_app.config["INSTITUTION_SEARCH_CACHE_SECONDS"]
    if cached is not None and time.monotonic() - cached[0] < lifetime:
        return cached[1]
    found = [
        InstitutionSummary(i.code, i.name, i.kind, i.county)
        for i in _query_institutions(query, limit)
    ]
    if len(_search_cache) >= SEARCH_CACHE_SIZE:
        _search_cache.clear()
    _search_cache[key] = (time.monotonic(), found)
    return found


def forget_searches() -> None:
    """Drop remembered search answers (after the list changed in this process)."""
    _search_cache.clear()


def _query_institutions(query: str, limit: int) -> list[Institution]:
    active = select(Institution).where(Institution.active)
    if query.isascii() and query.isdigit():
        statement = active.where(Institution.code.startswith(query, autoescape=True))
        return list(db.session.scalars(statement.order_by(Institution.code).limit(limit)))
    statement = active.where(
        or_(
            Institution.name.contains(query, autoescape=True),
            Institution.code.startswith(query, autoescape=True),
        )
    )
    return list(
        db.session.scalars(statement.order_by(Institution.name, Institution.code).limit(limit))
    )


@dataclass(frozen=True)
class ImportSummary:
    """How an import changed the list."""

    created: int
    updated: int
    unchanged: int


def upsert_institutions(records: Iterable[InstitutionRecord]) -> ImportSummary:
    """Create new institutions and update changed ones, matched by code; never duplicate."""
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
    created = updated = unchanged = 0
    for record in records:
        institution = existing.get(record.code)
        if institution is None:
            db.session.add(_from_record(record))
            created += 1
        elif _apply(institution, record):
            updated += 1
        else:
            unchanged += 1
    db.session.commit()
    forget_searches()
    return ImportSummary(created, updated, unchanged)


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
