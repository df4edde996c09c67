"""The queue as an operator sees it: the requests of their languages, most urgent first
(priority, then who reached us first), filtered and a page at a time. Those due come first;
then those waiting for their next try after "no answer" (soonest first), then those waiting
for a supervisor's decision (ivr.operators.retries). A request that is due again is back
among the due ones in its old place: its priority and first call order it, as before."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.callback_requests.store import REASONS
from ivr.database import page_asked, page_within
from ivr.models import CallbackRequest, Operator
from ivr.operators import retries
from ivr.operators.claims import CLOSING_OUTCOMES, lapse_before

# The page's statuses: open, and its views of open (waiting, claimed; due now, next try
# later, needs a supervisor's decision) and of closed (done).
STATUSES = ("open", "waiting", "claimed", "due", "later", "decision", "done")
# What `ivr callbacks list --status` takes: the page's, and each status a request is stored with.
LISTED_STATUSES = (*STATUSES, *CLOSING_OUTCOMES)
PAGE_SIZE = 50
MAX_PAGE = 10_000


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
class QueuePage:
    rows: list[Row]
    total: int
    page: int
    pages: int
    waiting_per_language: dict[str, int]


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
    order = ((CallbackRequest.closed_at.desc(), CallbackRequest.id.desc())
             if filters.status == "done" else queue_order(now))
    holder = sa.case((CallbackRequest.claimed_at > lapse_before(now, claim_minutes),
                      Operator.name), else_=None)
    rows = session.execute(
        sa.select(CallbackRequest, holder)
        .outerjoin(Operator, Operator.id == CallbackRequest.claimed_by)
        .where(*conditions).order_by(*order)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
    return QueuePage(
        rows=[Row(request, name, name is not None and request.claimed_by == staff_id,
                  retries.state(request, now))
              for request, name in rows],
        total=total, page=page, pages=pages, waiting_per_language=counts)


def queue_order(now: datetime) -> tuple[Any, ...]:
    """Due first, by priority and first call; then next tries to come, soonest first; then
    those a supervisor must decide on."""
    later = retries.later(now)
    bucket = sa.case((CallbackRequest.decision_since.is_not(None), 2), (later, 1), else_=0)
    return (bucket, sa.case((later, CallbackRequest.next_try_at), else_=None),
            CallbackRequest.priority, CallbackRequest.created_at, CallbackRequest.id)


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
