"""Unit tests for portal.workcalendar.workdays."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from portal.workcalendar.workdays import WorkCalendar

CAL = WorkCalendar()


def test_plain_weekdays() -> None:
    # Mon 2026-11-16 -> Wed 2026-11-18, no holidays in between.
    assert CAL.add_working_days(date(2026, 11, 16), 2) == date(2026, 11, 18)
    assert CAL.working_days_between(date(2026, 11, 16), date(2026, 11, 18)) == 2
    assert CAL.is_working_day(date(2026, 11, 16))


def test_over_a_weekend() -> None:
    friday = date(2026, 11, 20)
    assert not CAL.is_working_day(date(2026, 11, 21))
    assert not CAL.is_working_day(date(2026, 11, 22))
    assert CAL.add_working_days(friday, 1) == date(2026, 11, 23)
    assert CAL.add_working_days(friday, 3) == date(2026, 11, 25)
    assert CAL.working_days_between(friday, date(2026, 11, 25)) == 3


def test_lunar_new_year_2026() -> None:
    # DGPA 2026: off Sat 02-14 to Sun 02-22 (小年夜 02-15 is new from 2026, and the
    # Sunday eve is observed on Fri 02-20); Fri 02-27 is the observed 228 holiday.
    assert CAL.is_working_day(date(2026, 2, 13))
    for day in range(14, 23):
        assert not CAL.is_working_day(date(2026, 2, day)), day
    assert CAL.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 23)
    assert CAL.working_days_between(date(2026, 2, 13), date(2026, 2, 23)) == 1
    assert not CAL.is_working_day(date(2026, 2, 27))
    assert CAL.add_working_days(date(2026, 2, 23), 5) == date(2026, 3, 3)


def test_make_up_saturday_2025_is_a_working_day() -> None:
    # 2025: Mon 01-27 was a bridge holiday paid back by working Sat 02-08.
    assert not CAL.is_working_day(date(2025, 1, 27))
    assert CAL.is_working_day(date(2025, 2, 8))
    assert CAL.add_working_days(date(2025, 1, 24), 1) == date(2025, 2, 3)
    assert CAL.add_working_days(date(2025, 2, 7), 1) == date(2025, 2, 8)
    assert CAL.working_days_between(date(2025, 2, 7), date(2025, 2, 10)) == 2


def test_make_up_saturday_2024_is_a_working_day() -> None:
    # 2024: Thu 02-08 off, paid back by working Sat 02-17.
    assert not CAL.is_working_day(date(2024, 2, 8))
    assert CAL.is_working_day(date(2024, 2, 17))
    assert not CAL.is_working_day(date(2024, 2, 18))


def test_make_up_saturday_declared_in_the_following_year() -> None:
    # Sat 2014-12-27 was worked to bridge Fri 2015-01-02: the swap is recorded
    # under 2015 in the package, yet must show up when asking about 2014.
    assert CAL.is_working_day(date(2014, 12, 27))
    assert not CAL.is_working_day(date(2015, 1, 2))


def test_labor_day_is_off_for_government_only_from_2026() -> None:
    assert CAL.is_working_day(date(2025, 5, 1))
    assert not CAL.is_working_day(date(2026, 5, 1))


def test_closure_override() -> None:
    typhoon = date(2026, 11, 25)
    cal = WorkCalendar(closures=[typhoon])
    assert not cal.is_working_day(typhoon)
    assert cal.add_working_days(date(2026, 11, 20), 3) == date(2026, 11, 26)
    assert cal.working_days_between(date(2026, 11, 20), date(2026, 11, 26)) == 3
    # The module-level calendar is unaffected.
    assert CAL.is_working_day(typhoon)


def test_extra_workday_override() -> None:
    saturday = date(2026, 11, 21)
    cal = WorkCalendar(extra_workdays=[saturday])
    assert cal.is_working_day(saturday)
    assert cal.add_working_days(date(2026, 11, 20), 3) == date(2026, 11, 24)


def test_closure_wins_over_extra_workday() -> None:
    day = date(2026, 11, 21)
    cal = WorkCalendar(closures=[day], extra_workdays=[day])
    assert not cal.is_working_day(day)


def test_overrides_accept_datetimes() -> None:
    cal = WorkCalendar(closures=[datetime(2026, 11, 25, 8, 30)])
    assert not cal.is_working_day(date(2026, 11, 25))
    assert not cal.is_working_day(datetime(2026, 11, 25, 14, 0))


def test_zero_and_negative_offsets() -> None:
    saturday = date(2026, 11, 21)
    assert CAL.add_working_days(saturday, 0) == saturday
    assert CAL.add_working_days(date(2026, 11, 23), -1) == date(2026, 11, 20)
    assert CAL.add_working_days(date(2026, 2, 23), -1) == date(2026, 2, 13)
    assert CAL.working_days_between(date(2026, 11, 23), date(2026, 11, 20)) == -1
    assert CAL.working_days_between(saturday, saturday) == 0


@pytest.mark.parametrize("start", [date(2026, 2, 13), date(2026, 2, 14), date(2025, 2, 8)])
def test_working_days_between_inverts_add_working_days(start: date) -> None:
    for n in range(-12, 13):
        assert CAL.working_days_between(start, CAL.add_working_days(start, n)) == n


def test_counts_match_day_by_day_check() -> None:
    start, end = date(2025, 12, 20), date(2026, 3, 10)
    expected = sum(
        CAL.is_working_day(start + timedelta(days=i)) for i in range(1, (end - start).days + 1)
    )
    assert CAL.working_days_between(start, end) == expected


@pytest.mark.parametrize("day", [date(1997, 12, 31), date(2101, 1, 1)])
def test_years_without_holiday_data_are_rejected(day: date) -> None:
    with pytest.raises(ValueError):
        CAL.is_working_day(day)
