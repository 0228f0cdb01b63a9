"""Taiwan local time: dates people see are Asia/Taipei dates."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

TAIPEI = ZoneInfo("Asia/Taipei")


def local_date(moment: datetime) -> date:
    """The Taipei calendar date of an aware timestamp."""
    return moment.astimezone(TAIPEI).date()


def local_now() -> datetime:
    """The current time in Taipei."""
    return datetime.now(TAIPEI)
