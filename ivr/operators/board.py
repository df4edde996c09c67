"""The wallboard: how the desk stands now, in numbers a room can read from across it.

Callers waiting are read from our own call log, never from Twilio (a REST call per refresh
per screen would soon meet Twilio's limits): a caller waits from the step that put them in
the language's queue (`operator:queued`) until a later step of theirs takes them out of it
(`<Enqueue action>`: talked, hung up, left for a request) or puts them through (`<Queue
url>`), or their call ends. A step lost on its way to the log cannot keep a caller "waiting"
for ever: only callers who joined in the last `max_wait` plus WAIT_MARGIN count, since the
queue offers everyone the callback request after `max_wait`. The log is written a fraction of
a second after each webhook (a writer thread), which a board refreshed every few seconds
does not notice.

No caller's number, and no call's SID, is in what this returns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from ivr.models import (
    Call,
    CallBackAttempt,
    CallbackRequest,
    CallEvent,
    Operator,
)
from ivr.operators import desk_time, figures, presence, retries, work_queue

QUEUED = "operator:queued"
WAIT_MARGIN = timedelta(minutes=5)
REFRESH_SECONDS = 5


@dataclass(frozen=True)
class LanguageNow:
    language: str
    waiting: int
    longest_wait_seconds: int  # 0 when nobody waits
    answered_today: int
    abandoned_today: int


@dataclass(frozen=True)
class ChannelNow:
    """One channel in one language: waiting now, and today's figures (figures.per_channel)."""

    channel: str
    language: str
    waiting: int  # callers in the call queue, or conversations waiting for an operator
    answered_today: int
    abandoned_today: int
    requests_today: int


@dataclass(frozen=True)
class PersonNow:
    name: str
    languages: tuple[str, ...]
    state: str  # one of presence.STATES
    missed_rings: int  # shown with "paused"


@dataclass(frozen=True)
class Board:
    at: datetime
    languages: tuple[LanguageNow, ...]
    operators: dict[str, int]  # each of presence.STATES: how many are in it
    people: tuple[PersonNow, ...]  # everyone but those signed off
    requests_due: int
    call_backs_in_progress: int
    channels: tuple[ChannelNow, ...] = ()

    @property
    def chats_waiting(self) -> int:
        return sum(line.waiting for line in self.channels if line.channel != figures.PHONE)

    @property
    def waiting(self) -> int:
        return sum(language.waiting for language in self.languages)

    @property
    def longest_wait_seconds(self) -> int:
        return max((language.longest_wait_seconds for language in self.languages), default=0)

    @property
    def answered_today(self) -> int:
        return sum(language.answered_today for language in self.languages)

    @property
    def abandoned_today(self) -> int:
        return sum(language.abandoned_today for language in self.languages)


def board(session: Session, languages: tuple[str, ...], now: datetime, desk_timezone: str,
          max_wait: int, claim_minutes: int) -> Board:
    waiting = callers_waiting(session, now, max_wait)
    since, until = desk_time.day_start(now, desk_timezone), now + timedelta(seconds=1)
    today = figures.figures(session, languages, since, until)
    per_language = tuple(
        LanguageNow(code, len(waiting.get(code, [])),
                    max((_seconds(now - joined) for joined in waiting.get(code, [])), default=0),
                    today[code].answered, today[code].abandoned)
        for code in languages)
    people = operators_now(session, now)
    counts = dict.fromkeys(presence.STATES, 0)
    for person in people:
        counts[person.state] += 1
    at_work = tuple(person for person in people if person.state != "signed_off")
    return Board(now, per_language, counts, at_work,
                 requests_due(session, now, claim_minutes), call_backs_in_progress(session, now),
                 channels_now(session, languages,
                              figures.per_channel(session, languages, since, until, today),
                              {code: len(joined) for code, joined in waiting.items()}))


def channels_now(session: Session, languages: tuple[str, ...],
                 today: dict[str, dict[str, figures.ChannelFigures]],
                 callers: dict[str, int]) -> tuple[ChannelNow, ...]:
    """Each channel per language: waiting now (`callers` per language for the phone), and
    today's answered, abandoned and requests (`today`, figures.per_channel)."""
    chats = work_queue.chats_waiting(session, languages)
    return tuple(
        ChannelNow(channel, code,
                   callers.get(code, 0) if channel == figures.PHONE
                   else chats.get((channel, code), 0),
                   counted.answered, counted.abandoned, counted.requests)
        for channel in sorted(set(today) | {channel for channel, _ in chats},
                              key=lambda name: (name not in figures.CHANNELS, name))
        for code in languages
        for counted in [today.get(channel, {}).get(code, figures.ChannelFigures(0, 0, 0))])


def callers_waiting(session: Session, now: datetime, max_wait: int) -> dict[str, list[datetime]]:
    """When each caller now in a queue joined it, per language."""
    since = now - timedelta(seconds=max_wait) - WAIT_MARGIN
    later = aliased(CallEvent)
    out_of_queue = sa.exists().where(
        later.call_sid == CallEvent.call_sid, later.kind == "queue",
        later.node.in_(("queue", "connect")), later.at >= CallEvent.at)
    rows = session.execute(
        sa.select(Call.language, sa.func.min(CallEvent.at))
        .join(Call, Call.call_sid == CallEvent.call_sid)
        .where(CallEvent.outcome == QUEUED, CallEvent.at >= since, Call.ended_at.is_(None),
               Call.language.is_not(None), ~out_of_queue)
        .group_by(CallEvent.call_sid, Call.language))
    waiting: dict[str, list[datetime]] = {}
    for language, joined in rows:
        waiting.setdefault(str(language), []).append(joined)
    return waiting


def operators_now(session: Session, now: datetime) -> list[PersonNow]:
    """Every active account on duty or not signed off, by what they are doing now."""
    busy = presence.in_a_call(session, now)
    chatting = presence.in_a_chat(session)
    operators = session.scalars(sa.select(Operator).where(Operator.active.is_(True))
                                .order_by(Operator.name))
    return [PersonNow(operator.name, operator.language_codes,
                      presence.state_of(operator, busy, now, chatting), operator.missed_rings)
            for operator in operators]


def requests_due(session: Session, now: datetime, claim_minutes: int) -> int:
    """Open callback requests that may be tried now and nobody holds, except those whose
    caller asked us to wait for their call (a next try still to come, or a supervisor's
    decision awaited, is not due)."""
    return int(session.scalar(
        sa.select(sa.func.count()).select_from(CallbackRequest).where(
            retries.due(now), work_queue.status_condition("waiting", now, claim_minutes),
            sa.or_(CallbackRequest.safe_window.is_(None), CallbackRequest.safe_window != "wait")))
        or 0)


def call_backs_in_progress(session: Session, now: datetime) -> int:
    return int(session.scalar(
        sa.select(sa.func.count()).select_from(CallBackAttempt).where(
            presence.call_back_going_on(now))) or 0)


def _seconds(delta: timedelta) -> int:
    return max(int(delta.total_seconds()), 0)


def as_json(found: Board) -> dict[str, object]:
    """For `/operators/board/figures.json`: numbers, states and first names, nothing else."""
    return {
        "at": found.at.isoformat(),
        "waiting": found.waiting,
        "longest_wait_seconds": found.longest_wait_seconds,
        "answered_today": found.answered_today,
        "abandoned_today": found.abandoned_today,
        "languages": [asdict(language) for language in found.languages],
        "operators": found.operators,
        "people": [{"name": person.name, "languages": list(person.languages),
                    "state": person.state, "missed_rings": person.missed_rings}
                   for person in found.people],
        "requests_due": found.requests_due,
        "call_backs_in_progress": found.call_backs_in_progress,
        "chats_waiting": found.chats_waiting,
        "channels": [asdict(line) for line in found.channels],
    }
