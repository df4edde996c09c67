"""What an operator may see of a caller: the number masked, their local time against the
window they said is safe, and whether we may say who we are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from ivr.phones import MASK

# Local hours (from, to) a caller's answer means; "any" is any time.
SAFE_HOURS = {"day": (9, 18), "evening": (18, 22)}


def masked(e164: str) -> str:
    """`+7 916 •••-••-67`: the country and area, and the last two digits, nothing more."""
    try:
        number = phonenumbers.parse(e164, None)
        shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        shown = e164
    groups = shown.split(" ")
    head = " ".join(groups[:2]) if len(groups) > 2 else groups[0][:5]
    rest = shown[len(head):]
    total_digits = sum(char.isdigit() for char in rest)
    seen = 0
    out = []
    for char in rest:
        if char.isdigit():
            seen += 1
            out.append(char if seen > total_digits - 2 else MASK)
        else:
            out.append(char)
    return head + "".join(out)


def pretty(e164: str) -> str:
    """The full number, grouped for reading aloud: shown only after an audited reveal."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None),
                                          phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return e164


@dataclass(frozen=True)
class LocalTime:
    time: str | None  # "21:40", or None when the number does not tell the zone
    window: str | None  # any, day, evening, wait, or None when the caller did not say
    safe: bool | None  # None: we cannot tell

    @property
    def wait(self) -> bool:
        """They asked us not to call at all: they will call again."""
        return self.window == "wait"


def local_time(zone: str | None, window: str | None, now: datetime,
               utc_offset: int | None = None) -> LocalTime:
    """From the zone their number tells, else from the offset they told us (whole hours)."""
    if zone is None and utc_offset is not None:
        here = now.astimezone(UTC) + timedelta(minutes=utc_offset)
        return LocalTime(here.strftime("%H:%M"), window, _within(here.hour, window))
    if zone is None:
        return LocalTime(None, window, _within(None, window))
    try:
        here = now.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return LocalTime(None, window, None)
    return LocalTime(here.strftime("%H:%M"), window, _within(here.hour, window))


def _within(hour: int | None, window: str | None) -> bool | None:
    if window == "wait":
        return False  # never: they asked us to wait for their call
    if window == "any":
        return True
    if window is None or hour is None or window not in SAFE_HOURS:
        return None
    start, end = SAFE_HOURS[window]
    return start <= hour < end


def waited(since: datetime, now: datetime) -> tuple[int, int, int]:
    """(days, hours, minutes) between two moments, for "waiting 2 h 5 min"."""
    minutes = max(0, int((now - since) / timedelta(minutes=1)))
    return minutes // (24 * 60), minutes // 60 % 24, minutes % 60
