"""Trying again after "no answer", at a time that respects the caller.

Each try without an answer waits longer before the next (CALLBACK_RETRY_MINUTES, the last
delay repeating), and the next try falls inside the window the caller said is safe, in
*their* local time: a delay that ends outside it moves to the window's next opening. A
caller who asked us to wait for their call is never given a next try. After
CALLBACK_MAX_ATTEMPTS tries in a round the request is not tried again: it waits for a
supervisor's decision (ivr.operators.claims.decide), "try again" (a new round, from the
first delay) or "close".

A request waiting for its next try is not due; once due it is ordered among the due ones by
its priority and when the person first reached us, as before: nothing here moves it back.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from ivr.models import CallbackRequest
from ivr.operators.caller_display import SAFE_HOURS
from ivr.settings import Settings

# A caller leg that ended so, on an operator's call back, is a try without an answer.
NO_ANSWER_STATUSES = ("no-answer", "busy", "failed")


def caller_zone(zone: str | None, utc_offset: int | None) -> tzinfo | None:
    """The caller's clock: from their number's zone, else the offset they told us."""
    if zone is not None:
        try:
            return ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            return None
    if utc_offset is not None:
        return _Offset(utc_offset)
    return None


class _Offset(tzinfo):
    """A fixed offset from UTC, in minutes (datetime.timezone refuses none we store)."""

    def __init__(self, minutes: int) -> None:
        self.minutes = minutes

    def utcoffset(self, dt: datetime | None) -> timedelta:
        return timedelta(minutes=self.minutes)

    def dst(self, dt: datetime | None) -> timedelta:
        return timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        return f"UTC{self.minutes:+d}min"


def into_window(at: datetime, window: str | None, zone: tzinfo | None) -> datetime:
    """`at`, or the next opening of the caller's safe window after it (their local time).
    Unknown zone, no window or "any": `at` as it is."""
    if zone is None or window not in SAFE_HOURS:
        return at
    start, end = SAFE_HOURS[str(window)]
    local = at.astimezone(zone)
    if start <= local.hour < end:
        return at
    day = local.date() if local.hour < start else local.date() + timedelta(days=1)
    return datetime.combine(day, time(start), tzinfo=zone).astimezone(UTC)


def delay_after(tries: int, delays: tuple[int, ...]) -> timedelta:
    """The wait after the `tries`-th try without an answer (1 is the first)."""
    return timedelta(minutes=delays[min(max(tries, 1), len(delays)) - 1])


def next_try(request: CallbackRequest, tries: int, delays: tuple[int, ...],
             now: datetime) -> datetime | None:
    """When to try again; None for a caller who asked us to wait for their call."""
    if request.safe_window == "wait":
        return None
    zone = caller_zone(request.caller_timezone, request.caller_utc_offset)
    return into_window(now + delay_after(tries, delays), request.safe_window, zone)


def after_no_answer(request: CallbackRequest, settings: Settings, now: datetime) -> None:
    """One more try without an answer: the next one later, or a supervisor decides."""
    request.tries_in_round += 1
    if request.tries_in_round >= settings.callback_max_attempts:
        request.next_try_at = None
        request.decision_since = now
        return
    request.next_try_at = next_try(request, request.tries_in_round,
                                   settings.callback_retry_minutes, now)


def start_again(request: CallbackRequest) -> None:
    """A new round, due now: the caller called again, or a supervisor said "try again"."""
    request.tries_in_round = 0
    request.next_try_at = None
    request.decision_since = None


def due(now: datetime) -> sa.ColumnElement[bool]:
    """Open requests that may be tried now (the others wait for a time or a decision)."""
    return sa.and_(CallbackRequest.status == "open", CallbackRequest.decision_since.is_(None),
                   sa.or_(CallbackRequest.next_try_at.is_(None),
                          CallbackRequest.next_try_at <= now))


def later(now: datetime) -> sa.ColumnElement[bool]:
    """Open requests whose next try is still to come."""
    return sa.and_(CallbackRequest.status == "open", CallbackRequest.decision_since.is_(None),
                   CallbackRequest.next_try_at > now)


def awaiting_decision() -> sa.ColumnElement[bool]:
    return sa.and_(CallbackRequest.status == "open", CallbackRequest.decision_since.is_not(None))


def state(request: CallbackRequest, now: datetime) -> Literal["due", "later", "decision",
                                                               "closed"]:
    """Where an open request stands: due now, waiting for its next try, or for a decision."""
    if request.status != "open":
        return "closed"
    if request.decision_since is not None:
        return "decision"
    if request.next_try_at is not None and request.next_try_at > now:
        return "later"
    return "due"
