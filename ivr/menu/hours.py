"""When operators answer a language: days and hours in a time zone, overnight spans allowed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Hours:
    timezone: str
    opens: int  # minutes after midnight
    closes: int  # minutes after midnight; 1440 is midnight at the end of the day
    days: frozenset[int] = frozenset(range(7))  # 0 is Monday

    def open_at(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        today = local.weekday()
        if self.opens < self.closes:
            return today in self.days and self.opens <= minute < self.closes
        # Overnight, such as 20:00 to 06:00: the early hours belong to the day before.
        yesterday = (local - timedelta(days=1)).weekday()
        return (today in self.days and minute >= self.opens) or (
            yesterday in self.days and minute < self.closes)


ALWAYS = Hours("UTC", 0, MINUTES_PER_DAY)


def parse_clock(text: str) -> int | None:
    """Minutes after midnight of "HH:MM" (24:00 allowed), or None."""
    hours, _, minutes = text.partition(":")
    if not (f"{hours}{minutes}".isascii() and hours.isdigit() and minutes.isdigit()
            and len(minutes) == 2):
        return None
    value = int(hours) * 60 + int(minutes)
    return value if int(minutes) < 60 and value <= MINUTES_PER_DAY else None


def parse_days(text: str) -> frozenset[int] | None:
    """"mon-fri", "sat,sun", "mon-sun": the days, or None if not understood."""
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            return None
        start, end = DAY_NAMES.index(first), DAY_NAMES.index(last or first)
        days.update(day % 7 for day in range(start, start + (end - start) % 7 + 1))
    return frozenset(days)
