"""The queue as an operator sees it: the requests of their languages, most urgent first
(priority, then who reached us first), filtered and a page at a time. Those due come first;
then those waiting for their next try after "no answer" (soonest first), then those waiting
for a supervisor's decision (ivr.operators.retries). A request that is due again is back
among the due ones in its old place: its priority and first call order it, as before.

One queue for every channel: above the requests, on the first page of the open (or waiting)
queue, the text conversations of the operator's languages waiting for one: people writing
now (`live`) first, then requests to be answered in writing, each the longest waiting first.
A person writing now is there while we read; a callback request waits for our call. Each row
says its channel: a call's request `phone`, a request left in the web chat `web`, a chat its
own `ChatConversation.channel`. A conversation rings nobody's phone: it waits here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.callback_requests.store import REASONS
from ivr.chat import conversations
from ivr.chat.journey import from_chat
from ivr.database import page_asked, page_within
from ivr.models import CallbackRequest, ChatConversation, Operator
from ivr.operators import retries
from ivr.operators.claims import CLOSING_OUTCOMES, lapse_before

# The page's statuses: open, and its views of open (waiting, claimed; due now, next try
# later, needs a supervisor's decision) and of closed (done).
STATUSES = ("open", "waiting", "claimed", "due", "later", "decision", "done")
# What `ivr callbacks list --status` takes: the page's, and each status a request is stored with.
LISTED_STATUSES = (*STATUSES, *CLOSING_OUTCOMES)
PAGE_SIZE = 50
MAX_PAGE = 10_000
# The most conversations the queue shows at once (the oldest first: none is hidden for long).
CHAT_LIMIT = 100
PHONE = "phone"


@dataclass(frozen=True)
class Filters:
    language: str | None = None
    status: str = "open"
    reason: str | None = None
    page: int = 1

    @classmethod
    def read(cls, args: Mapping[str, str], languages: tuple[str, ...]) -> Filters:
        """Filters from the query string; anything unknown reads as "all"."""
        language = args.get("language") or None
        reason = args.get("reason") or None
        status = args.get("status") or "open"
        return cls(language=language if language in languages else None,
                   status=status if status in STATUSES else "open",
                   reason=reason if reason in REASONS else None,
                   page=min(page_asked(args.get("page")), MAX_PAGE))

    def query(self, **changes: str | int | None) -> dict[str, str | int]:
        """The query string of these filters with some changed, for links."""
        values: dict[str, str | int | None] = {
            "language": self.language, "status": self.status, "reason": self.reason,
            "page": self.page, **changes}
        return {key: value for key, value in values.items()
                if value not in (None, "") and not (key == "page" and value == 1)
                and not (key == "status" and value == "open")}


@dataclass(frozen=True)
class Row:
    request: CallbackRequest
    claimed_by: str | None  # the holder's name while their claim lasts
    mine: bool
    state: str  # due, later, decision or closed (retries.state)


@dataclass(frozen=True)
class ChatRow:
    """A conversation in the queue: no message in it (its words show only to its holder)."""

    id: int
    language: str
    mode: str  # live (writing now) or written (a request answered in writing)
    channel: str
    since: datetime
    holder: str | None  # who holds it, if someone does
    mine: bool


@dataclass(frozen=True)
class QueuePage:
    rows: list[Row]
    total: int
    page: int
    pages: int
    waiting_per_language: dict[str, int]
    chats: list[ChatRow] = field(default_factory=list)
    chats_per_language: dict[str, int] = field(default_factory=dict)


def channel_of(request: CallbackRequest) -> str:
    """The channel a callback request came by: `web` (left in the web chat) or `phone`."""
    return conversations.WEB if from_chat(request.first_call_sid or "") else PHONE


def chats_waiting(session: Session, languages: tuple[str, ...]) -> dict[tuple[str, str], int]:
    """Conversations waiting for an operator now, per channel and language (they ring
    nobody's phone: they wait here)."""
    return {(str(row[0]), str(row[1])): int(row[2]) for row in session.execute(
        sa.select(ChatConversation.channel, ChatConversation.language, sa.func.count())
        .where(ChatConversation.status == "waiting", ChatConversation.language.in_(languages))
        .group_by(ChatConversation.channel, ChatConversation.language))}


def chats_waiting_per_language(session: Session,
                               languages: tuple[str, ...]) -> dict[str, int]:
    """How many conversations of each language wait for an operator: the header's counts."""
    counts = dict.fromkeys(languages, 0)
    for (_channel, language), count in chats_waiting(session, languages).items():
        counts[language] += count
    return counts


def chats_in_queue(session: Session, staff_id: int, languages: tuple[str, ...],
                   filters: Filters) -> list[ChatRow]:
    """The conversations this page of the queue shows: waiting ones (and, in the open queue,
    those held), the people writing now first, the longest waiting first."""
    if filters.page != 1 or filters.reason is not None \
            or filters.status not in ("open", "waiting"):
        return []
    chosen = (filters.language,) if filters.language else languages
    statuses = ("waiting", "held") if filters.status == "open" else ("waiting",)
    rows = session.execute(
        sa.select(ChatConversation, Operator.name)
        .outerjoin(Operator, Operator.id == ChatConversation.operator_id)
        .where(ChatConversation.status.in_(statuses), ChatConversation.language.in_(chosen),
               ChatConversation.mode.in_(("live", "written")))
        .order_by(sa.case((ChatConversation.mode == "live", 0), else_=1),
                  ChatConversation.waiting_since, ChatConversation.id)
        .limit(CHAT_LIMIT)).all()
    return [ChatRow(chat.id, chat.language, chat.mode, chat.channel,
                    chat.waiting_since or chat.created_at,
                    name if chat.status == "held" else None, chat.operator_id == staff_id)
            for chat, name in rows]


def open_per_language(session: Session, languages: tuple[str, ...]) -> dict[str, int]:
    """How many requests wait in each language: the counts in the page's header."""
    counts = {str(row[0]): int(row[1]) for row in session.execute(
        sa.select(CallbackRequest.language, sa.func.count())
        .where(CallbackRequest.status == "open", CallbackRequest.language.in_(languages))
        .group_by(CallbackRequest.language))}
    return {code: int(counts.get(code, 0)) for code in languages}


def page_of(session: Session, staff_id: int, languages: tuple[str, ...], filters: Filters,
            now: datetime, claim_minutes: int) -> QueuePage:
    counts = open_per_language(session, languages)
    conditions = _conditions(languages, filters, now, claim_minutes)
    if filters.status == "open" and filters.reason is None:
        # The header's counts already say how many there are: no second count.
        total = counts[filters.language] if filters.language else sum(counts.values())
    else:
        total = session.scalar(sa.select(sa.func.count()).select_from(CallbackRequest)
                               .where(*conditions)) or 0
    page, pages = page_within(filters.page, total, PAGE_SIZE)
    holder = sa.case((CallbackRequest.claimed_at > lapse_before(now, claim_minutes),
                      Operator.name), else_=None)
    query = (sa.select(CallbackRequest, holder)
             .outerjoin(Operator, Operator.id == CallbackRequest.claimed_by)
             .where(*conditions))
    rows = _in_order(session, query, segments(filters.status, now), (page - 1) * PAGE_SIZE)
    return QueuePage(
        rows=[Row(request, name, name is not None and request.claimed_by == staff_id,
                  retries.state(request, now))
              for request, name in rows],
        total=total, page=page, pages=pages, waiting_per_language=counts,
        chats=chats_in_queue(session, staff_id, languages, filters),
        chats_per_language=chats_waiting_per_language(session, languages))


Segment = tuple[sa.ColumnElement[bool] | None, tuple[Any, ...]]


def segments(status: str, now: datetime) -> list[Segment]:
    """The queue's order, as parts read one after the other: due first, by priority and first
    call; then next tries to come, soonest first; then those a supervisor must decide on.
    Each part is ordered as an index reads it (status, priority, first call): one ORDER BY
    of the three together would sort every open request for every page."""
    plain = (CallbackRequest.priority, CallbackRequest.created_at, CallbackRequest.id)
    soonest = (CallbackRequest.next_try_at, *plain)
    if status == "done":
        return [(None, (CallbackRequest.closed_at.desc(), CallbackRequest.id.desc()))]
    if status == "later":
        return [(None, soonest)]
    if status not in ("open", "waiting", "claimed"):
        return [(None, plain)]  # due, decision, or a closed request's outcome
    return [(retries.due(now), plain), (retries.later(now), soonest),
            (retries.awaiting_decision(), plain)]


def _in_order(session: Session, query: sa.Select[Any], parts: list[Segment],
              offset: int) -> list[Any]:
    """A page of `query` read through the parts in turn, from `offset` on. A part is counted
    only when the page starts beyond its end."""
    rows: list[Any] = []
    for extra, order in parts:
        wanted = PAGE_SIZE - len(rows)
        if wanted <= 0:
            break
        part = query.where(extra) if extra is not None else query
        got = session.execute(part.order_by(*order).limit(wanted).offset(offset)).all()
        if not got and offset:
            offset -= session.scalar(sa.select(sa.func.count()).select_from(
                part.order_by(None).subquery())) or 0
            offset = max(offset, 0)
            continue
        rows += got
        offset = 0
    return rows


def _conditions(languages: tuple[str, ...], filters: Filters, now: datetime,
                claim_minutes: int) -> list[sa.ColumnElement[bool]]:
    chosen = (filters.language,) if filters.language else languages
    conditions: list[sa.ColumnElement[bool]] = [CallbackRequest.language.in_(chosen)]
    if filters.reason:
        conditions.append(CallbackRequest.reason == filters.reason)
    conditions.append(status_condition(filters.status, now, claim_minutes))
    return conditions


def status_condition(status: str, now: datetime, claim_minutes: int) -> sa.ColumnElement[bool]:
    """The requests a status names: waiting (open, and nobody's claim holds it), claimed
    (open, and someone's claim has not lapsed), due (open, to be tried now), later (open,
    its next try to come), decision (open, tried CALLBACK_MAX_ATTEMPTS times: a supervisor
    decides), done (closed, whatever the outcome), or a status as stored (open, or the
    outcome that closed the request)."""
    is_open = CallbackRequest.status == "open"
    unclaimed = sa.or_(CallbackRequest.claimed_by.is_(None),
                       CallbackRequest.claimed_at <= lapse_before(now, claim_minutes))
    if status == "done":
        return CallbackRequest.status != "open"
    if status == "waiting":
        return sa.and_(is_open, unclaimed)
    if status == "claimed":
        return sa.and_(is_open, sa.not_(unclaimed))
    if status == "due":
        return retries.due(now)
    if status == "later":
        return retries.later(now)
    if status == "decision":
        return retries.awaiting_decision()
    return CallbackRequest.status == status
