"""Taiwan government working-day calendar (行政院人事行政總處 DGPA calendar).

Pure Python (no Flask imports). Statutory holidays, their observed/substitute days,
bridge holidays (彈性放假) and make-up working Saturdays (補班日) all come from the
``holidays`` package's Taiwan calendar; nothing is hard-coded here.

How the package models make-up workdays (holidays 0.109, countries/taiwan.py):
``TaiwanStaticHolidays.special_public_holidays`` lists each bridge holiday as
``(to_month, to_day, from_month, from_day[, from_year])``. The day off becomes a
holiday and the Saturday it was swapped with is put in ``HolidayBase.weekend_workdays``,
which ``HolidayBase.is_working_day()`` consults for weekend dates. The ``WORKDAY``
category is unrelated: it lists commemorative days that are *not* days off.
Cross-year swaps (the 5-tuple form, e.g. 2014-12-27 for 2015-01-02) are loaded
eagerly at construction, so a single-year instance already answers correctly.

Admins can layer two overrides on top: ``closures`` (e.g. typhoon days, 停班)
and ``extra_workdays``. A closure wins over an extra workday on the same date,
because a later emergency closure must not be undone by an earlier schedule.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Final

import holidays
from holidays.constants import GOVERNMENT, PUBLIC

# GOVERNMENT adds the pre-2001 civil-service-only days off; OPTIONAL is deliberately
# left out: it holds Labor Day before 2026 (not a day off for civil servants) and
# Armed Forces Day (military only).
_CATEGORIES: Final = (GOVERNMENT, PUBLIC)

# Outside this range the package silently returns no holidays at all, which would
# make every weekday look like a working day; failing loudly is safer.
_FIRST_YEAR: Final[int] = holidays.TW.start_year
_LAST_YEAR: Final[int] = holidays.TW.end_year

_ONE_DAY: Final = timedelta(days=1)


@lru_cache(maxsize=64)
def _holidays_for_year(year: int) -> holidays.HolidayBase:
    """Return the cached Taiwan holiday calendar covering ``year``."""
    # expand=False keeps the object read-only after construction, so concurrent
    # request threads can share it; with expand=True a lookup of another year
    # would mutate it mid-request. One year per object is enough (see module doc).
    return holidays.country_holidays("TW", years=year, categories=_CATEGORIES, expand=False)


def _as_date(value: date) -> date:
    """Return ``value`` as a plain date, dropping the time part of a datetime."""
    # datetime is a date subclass but never equals a date, so a datetime would
    # silently miss the closure/extra-workday sets.
    return value.date() if isinstance(value, datetime) else value


def _check_supported(d: date) -> None:
    """Raise ValueError if the holidays package has no Taiwan data for ``d``'s year."""
    if not _FIRST_YEAR <= d.year <= _LAST_YEAR:
        raise ValueError(
            f"{d.isoformat()} is outside the supported range {_FIRST_YEAR}-{_LAST_YEAR}"
        )


class WorkCalendar:
    """Working-day arithmetic on the Taiwan government calendar plus admin overrides."""

    def __init__(
        self,
        closures: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        """Create a calendar with admin-decreed closures and extra workdays."""
        self._closures = frozenset(_as_date(d) for d in closures)
        self._extra_workdays = frozenset(_as_date(d) for d in extra_workdays)

    @property
    def closures(self) -> frozenset[date]:
        """Return the admin-decreed non-working days."""
        return self._closures

    @property
    def extra_workdays(self) -> frozenset[date]:
        """Return the admin-decreed extra working days."""
        return self._extra_workdays

    def is_working_day(self, d: date) -> bool:
        """Return True if government offices work on ``d``."""
        d = _as_date(d)
        _check_supported(d)
        if d in self._closures:
            return False
        if d in self._extra_workdays:
            return True
        return _holidays_for_year(d.year).is_working_day(d)

    def add_working_days(self, start: date, n: int) -> date:
        """Return the date ``n`` working days after ``start`` (before it if ``n`` < 0)."""
        # ``start`` itself is never counted, so n == 0 returns ``start`` unchanged
        # even when it is a holiday; callers wanting "next working day" use n == 1.
        current = _as_date(start)
        step = _ONE_DAY if n >= 0 else -_ONE_DAY
        remaining = abs(n)
        while remaining:
            current += step
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: date, end: date) -> int:
        """Return the signed working-day distance, the inverse of add_working_days."""
        # Forward: working days in (start, end]. Backward: minus those in [end, start).
        # Both make working_days_between(s, add_working_days(s, n)) == n hold for any n.
        start, end = _as_date(start), _as_date(end)
        if end >= start:
            first, days, sign = start + _ONE_DAY, (end - start).days, 1
        else:
            first, days, sign = end, (start - end).days, -1
        count = sum(self.is_working_day(first + timedelta(days=i)) for i in range(days))
        return sign * count
