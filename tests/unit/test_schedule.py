"""The schedule's settings and the due-date bound the help desk's digest is built on."""

from datetime import date, time, timedelta

import pytest

from portal.review.deadlines import last_start_due_by
from portal.schedule.services import lock_key, time_of_day
from portal.workcalendar.workdays import WorkCalendar


@pytest.mark.parametrize(
    ("text", "expected"),
    [("08:00", time(8)), ("7:30", time(7, 30)), (" 23:59 ", time(23, 59)), ("off", None)],
)
def test_a_time_of_day_or_off(text, expected):
    assert time_of_day(text) == expected


@pytest.mark.parametrize("text", ["8", "08:0", "24:00", "08:60", "eight", "", "08:00:00"])
def test_anything_else_is_refused(text):
    with pytest.raises(ValueError):
        time_of_day(text)


def test_a_bad_time_setting_is_refused_at_start():
    from portal import create_app

    with pytest.raises(RuntimeError, match="PURGE_AT"):
        create_app("testing", {"PURGE_AT": "3am"})


def test_lock_keys_are_stable_and_distinct():
    assert lock_key("purge") == lock_key("purge")
    assert lock_key("purge") != lock_key("help_desk_digest")
    assert -(2**63) <= lock_key("purge") < 2**63


def test_the_last_arrival_due_by_a_day_is_exact():
    calendar = WorkCalendar(closures=[date(2026, 11, 16)])
    for day in (date(2026, 11, 14) + timedelta(days=n) for n in range(20)):
        last = last_start_due_by(calendar, day, 3)
        assert calendar.add_working_days(last, 3) <= day
        assert calendar.add_working_days(last + timedelta(days=1), 3) > day
