"""Taiwan local time: dates people see are Asia/Taipei dates."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

TAIPEI = ZoneInfo("Asia/Taipei")


def local_date(moment: datetime) -> date:
    """The Taipei calendar date of an aware timestamp."""
    return moment.astimezone(TAIPEI).date()


def local_datetime_text(moment: datetime) -> str:
    """An aware timestamp as Taipei wall-clock time to the second: 2026-03-14 09:30:05."""
    return moment.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M:%S")


def local_day_text(moment: date | datetime) -> str:
    """A day as 2026-03-14: a date as it is, an aware timestamp as its Taipei date."""
    day = local_date(moment) if isinstance(moment, datetime) else moment
    return day.isoformat()


def local_now() -> datetime:
    """The current time in Taipei."""
    return datetime.now(TAIPEI)
