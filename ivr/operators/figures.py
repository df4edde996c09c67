"""The supervisors' figures, per language: today and the last 7 days, each day the desk's
own (DESK_TIMEZONE), from its midnight to the next; and per channel (phone, web chat, ...).

A text conversation is answered when an operator takes it, and abandoned when it ended before
anyone did (the person left, pressed "leave now", or went quiet for CHAT_IDLE_MINUTES). A
request by text is one to be answered in writing or a callback request left from a chat; the
phone's requests are the others."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.chat.journey import CHAT_SID_PREFIX
from ivr.models import Call, CallbackRequest, ChatConversation, Ring
from ivr.operators import desk_time

DAYS = 7


@dataclass(frozen=True)
class Figures:
    calls: int
    answered: int  # by an operator
    requests: int  # callback requests made
    called_back: int  # reached by an operator
    # Requests of callers who hung up, as the queue shows them: in the operators' queue
    # (queue_hangup), and while their request was being taken (abandoned).
    hung_up_in_queue: int
    hung_up_taking: int
    median_minutes: int | None  # from the request to reaching the person

    @property
    def abandoned(self) -> int:
        return self.hung_up_in_queue + self.hung_up_taking


def start_of_day(now: datetime, time_zone: str) -> datetime:
    """Midnight of the desk's today."""
    return desk_time.day_start(now, time_zone)


def days_back(now: datetime, time_zone: str, back: int) -> tuple[datetime, datetime]:
    """The desk's day `back` days before today: from its midnight to the next (23 or 25
    hours on a day the clocks change)."""
    today = desk_time.day_start(now, time_zone)
    day = today.date() - timedelta(days=back)
    return (datetime.combine(day, time(), tzinfo=today.tzinfo),
            datetime.combine(day + timedelta(days=1), time(), tzinfo=today.tzinfo))


def figures(session: Session, languages: tuple[str, ...], since: datetime,
            until: datetime) -> dict[str, Figures]:
    # Any: the row types of a select are spelled differently in SQLAlchemy 2.0 and 2.1.
    def per_language(query: Any) -> dict[str, int]:
        return {str(row[0]): int(row[1]) for row in session.execute(query)}

    calls = per_language(
        sa.select(Call.language, sa.func.count()).where(
            Call.direction == "inbound", Call.started_at >= since, Call.started_at < until,
            Call.language.is_not(None)).group_by(Call.language))
    answered = per_language(
        sa.select(Ring.language, sa.func.count()).where(
            Ring.outcome == "accepted", Ring.created_at >= since, Ring.created_at < until)
        .group_by(Ring.language))
    requests = per_language(
        sa.select(CallbackRequest.language, sa.func.count()).where(
            CallbackRequest.created_at >= since, CallbackRequest.created_at < until)
        .group_by(CallbackRequest.language))
    hung_up = {reason: per_language(
        sa.select(CallbackRequest.language, sa.func.count()).where(
            CallbackRequest.reason == reason, CallbackRequest.created_at >= since,
            CallbackRequest.created_at < until)
        .group_by(CallbackRequest.language)) for reason in ("queue_hangup", "abandoned")}
    waits = _time_to_call_back(session, since, until)
    return {code: Figures(calls.get(code, 0), answered.get(code, 0), requests.get(code, 0),
                          len(waits.get(code, [])), hung_up["queue_hangup"].get(code, 0),
                          hung_up["abandoned"].get(code, 0), _median(waits.get(code, [])))
            for code in languages}


def _time_to_call_back(session: Session, since: datetime,
                       until: datetime) -> dict[str, list[float]]:
    rows = session.execute(
        sa.select(CallbackRequest.language, CallbackRequest.created_at,
                  CallbackRequest.closed_at)
        .where(CallbackRequest.outcome == "reached", CallbackRequest.closed_at >= since,
               CallbackRequest.closed_at < until))
    waits: dict[str, list[float]] = {}
    for language, created, closed in rows:
        if closed is not None:
            waits.setdefault(language, []).append((closed - created).total_seconds() / 60)
    return waits


def _median(values: list[float]) -> int | None:
    return round(statistics.median(values)) if values else None


PHONE = "phone"
# The channels the figures always show, even on a day without any.
CHANNELS = (PHONE, "web")


@dataclass(frozen=True)
class ChannelFigures:
    """One channel's day in one language."""

    answered: int
    abandoned: int
    requests: int


def per_channel(session: Session, languages: tuple[str, ...], since: datetime,
                until: datetime, phone: dict[str, Figures] | None = None
                ) -> dict[str, dict[str, ChannelFigures]]:
    """Each channel's answered, abandoned and requests, per language (channel, then language):
    the phone's from the calls (`figures` of the same window, when the caller has them
    already), each text channel's from its conversations."""
    phone = phone if phone is not None else figures(session, languages, since, until)
    # A callback request left in a chat is kept beside its conversation when it has a
    # message; without one, the web chat's are known by their first "call"'s prefix.
    from_text = sa.exists().where(ChatConversation.request_id == CallbackRequest.id)
    from_web = CallbackRequest.first_call_sid.startswith(CHAT_SID_PREFIX)
    by_kind = _count(session, sa.select(
        sa.case((from_web, "web"), else_=PHONE), CallbackRequest.language, sa.func.count())
        .where(CallbackRequest.created_at >= since, CallbackRequest.created_at < until,
               ~from_text).group_by(from_web, CallbackRequest.language))
    phone_requests = {key: value for key, value in by_kind.items() if key[0] == PHONE}
    chat = ChatConversation
    talked = chat.mode.in_(("live", "written"))
    answered = _count(session, sa.select(chat.channel, chat.language, sa.func.count()).where(
        talked, chat.taken_at >= since, chat.taken_at < until)
        .group_by(chat.channel, chat.language))
    abandoned = _count(session, sa.select(chat.channel, chat.language, sa.func.count()).where(
        talked, chat.taken_at.is_(None), chat.ended_at >= since, chat.ended_at < until)
        .group_by(chat.channel, chat.language))
    requests = _count(session, sa.select(chat.channel, chat.language, sa.func.count()).where(
        chat.mode.in_(("written", "callback")), chat.created_at >= since,
        chat.created_at < until).group_by(chat.channel, chat.language))
    for key, value in by_kind.items():
        if key[0] != PHONE:
            requests[key] = requests.get(key, 0) + value
    channels = list(CHANNELS) + sorted({channel for channel, _ in (*answered, *abandoned,
                                                                    *requests)} - set(CHANNELS))
    out: dict[str, dict[str, ChannelFigures]] = {}
    for channel in channels:
        if channel == PHONE:
            out[channel] = {code: ChannelFigures(phone[code].answered, phone[code].abandoned,
                                                 phone_requests.get((PHONE, code), 0))
                            for code in languages}
        else:
            out[channel] = {code: ChannelFigures(answered.get((channel, code), 0),
                                                 abandoned.get((channel, code), 0),
                                                 requests.get((channel, code), 0))
                            for code in languages}
    return out


def _count(session: Session, query: Any) -> dict[tuple[str, str], int]:
    return {(str(row[0]), str(row[1])): int(row[2]) for row in session.execute(query)}


@dataclass(frozen=True)
class Day:
    day: date
    requests: int
    called_back: int


def by_day(session: Session, languages: tuple[str, ...], now: datetime,
           time_zone: str) -> list[Day]:
    """Requests made and people called back on each of the desk's last 7 days: the chart."""
    days = []
    for back in range(DAYS - 1, -1, -1):
        since, until = days_back(now, time_zone, back)
        totals = figures(session, languages, since, until)
        days.append(Day(since.date(), sum(f.requests for f in totals.values()),
                        sum(f.called_back for f in totals.values())))
    return days


@dataclass(frozen=True)
class Page:
    """The figures page: the desk's today, its last 7 days, and the chart's days."""

    today: dict[str, Figures]
    week: dict[str, Figures]
    days: list[Day]
    channels_today: dict[str, dict[str, ChannelFigures]] | None = None


def page(session: Session, languages: tuple[str, ...], now: datetime, time_zone: str) -> Page:
    until = now + timedelta(seconds=1)
    since = start_of_day(now, time_zone)
    today = figures(session, languages, since, until)
    return Page(today=today,
                week=figures(session, languages, days_back(now, time_zone, DAYS - 1)[0], until),
                days=by_day(session, languages, now, time_zone),
                channels_today=per_channel(session, languages, since, until, today))


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    value: int
    kind: str
    width: int

    @property
    def middle(self) -> int:
        return self.x + self.width // 2


@dataclass(frozen=True)
class Chart:
    """A bar chart laid out here, so the template only writes the SVG shapes. Its labels
    are centred on their day and sized for a phone: the chart shrinks to about 350 px
    there, so a 14-unit label still reads at about 12 px."""

    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[int, str]]  # the middle of each day's slot, and its date
    top: int
    plot: int  # the height of the tallest bar
    baseline: int  # where the bars stand


LABEL_SIZE = 14  # in the chart's own units (see the stylesheet's .chart text)
VALUE_ROOM = 18  # above the tallest bar, for its value
DATE_ROOM = 24  # below the bars, for the dates


def chart(days: list[Day], width: int = 420, height: int = 200) -> Chart:
    top = max([1, *(max(day.requests, day.called_back) for day in days)])
    plot = height - VALUE_ROOM - DATE_ROOM
    baseline = VALUE_ROOM + plot
    slot = width // max(len(days), 1)
    bar_width = slot // 2 - 6
    bars: list[Bar] = []
    labels: list[tuple[int, str]] = []
    for index, day in enumerate(days):
        left = index * slot + 6
        for offset, (value, kind) in enumerate(((day.requests, "requests"),
                                                (day.called_back, "called"))):
            bar_height = round(plot * value / top)
            bars.append(Bar(left + offset * (bar_width + 2), baseline - bar_height, bar_height,
                            value, kind, bar_width))
        labels.append((index * slot + slot // 2, day.day.strftime("%d.%m")))
    return Chart(width, height, bars, labels, top, plot, baseline)
