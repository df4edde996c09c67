"""The desk's clock: times as the people at the desk read them (`DESK_TIMEZONE`), and where
their "today" begins. Stored times stay UTC; only what people read is local."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

zone = cache(ZoneInfo)


def local(at: datetime, time_zone: str) -> datetime:
    return at.astimezone(zone(time_zone))


def shown(at: datetime | None, time_zone: str, pattern: str = "%Y-%m-%d %H:%M") -> str:
    return "" if at is None else local(at, time_zone).strftime(pattern)


def day_start(now: datetime, time_zone: str) -> datetime:
    """The moment the desk's today began (midnight there), as an aware datetime."""
    here = local(now, time_zone)
    return datetime.combine(here.date(), time(), tzinfo=here.tzinfo)


def day_end(now: datetime, time_zone: str) -> datetime:
    start = day_start(now, time_zone)
    # Midnight of the next date, not 24 h later: a day with a clock change has 23 or 25 hours.
    return datetime.combine(start.date() + timedelta(days=1), time(), tzinfo=start.tzinfo)
