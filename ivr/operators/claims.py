"""Claiming a callback request, working it, and letting it go.

A claim is one conditional UPDATE that only succeeds while nobody else holds the request
(or their claim has lapsed), so two operators who click at once cannot both win, on SQLite
and PostgreSQL alike. A request keeps its place in the queue: it is ordered by when the
person first reached us, which nothing here changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.callback_requests import recordings
from ivr.models import CallBackAttempt, CallbackRequest, Operator
from ivr.operators import audit
from ivr.operators.identity import Staff
from ivr.phones import PhoneVault
from ivr.twilio.rest_api import TwilioApi

# What an operator can record; all but no_answer take the request out of the queue.
OUTCOMES = ("reached", "no_answer", "wrong_number", "do_not_call", "closed")
# A closed request's status is the outcome that closed it.
CLOSING_OUTCOMES = tuple(outcome for outcome in OUTCOMES if outcome != "no_answer")
NOTES_LIMIT = 4000


class NotYours(Exception):
    """The request is not (or no longer) claimed by this person: someone else has it, or the
    claim lapsed, or it was closed."""


class NotFound(Exception):
    """No such request, or not one of this person's languages (they are told the same)."""


def lapse_before(now: datetime, claim_minutes: int) -> datetime:
    return now - timedelta(minutes=claim_minutes)


def held(request: CallbackRequest, now: datetime, claim_minutes: int) -> bool:
    """Whether someone holds the request now."""
    return (request.claimed_by is not None and request.claimed_at is not None
            and request.claimed_at > lapse_before(now, claim_minutes))


def visible(session: Session, staff: Staff, request_id: int) -> CallbackRequest:
    request = session.get(CallbackRequest, request_id)
    if request is None or not staff.may_see(request.language):
        raise NotFound
    return request


def claim(session: Session, staff: Staff, request_id: int, now: datetime,
          claim_minutes: int) -> Literal["yours", "taken", "closed"]:
    """Take the request, unless someone else holds it or it is closed."""
    request = visible(session, staff, request_id)
    result = session.execute(
        sa.update(CallbackRequest)
        .where(CallbackRequest.id == request.id, CallbackRequest.status == "open",
               sa.or_(CallbackRequest.claimed_by.is_(None), CallbackRequest.claimed_by == staff.id,
                      CallbackRequest.claimed_at <= lapse_before(now, claim_minutes)))
        .values(claimed_by=staff.id, claimed_at=now)
        .execution_options(synchronize_session=False))
    won = cast("sa.CursorResult[Any]", result).rowcount == 1
    if won:
        audit.record(session, now, "claim", login=staff.login, operator_id=staff.id,
                     request_id=request.id)
    session.expire(request)
    if won:
        return "yours"
    return "taken" if request.status == "open" else "closed"


def mine(session: Session, staff: Staff, request_id: int, now: datetime,
         claim_minutes: int) -> CallbackRequest:
    """The request, if this person holds it now; else NotYours (or NotFound).

    Checked by a conditional UPDATE that changes nothing, so that the check also takes the
    row's write lock until the transaction ends: a supervisor's release or reassign, or a
    claim after a lapse, either comes first (and this finds the request not theirs) or
    waits for this person's step to end (and then finds what it left)."""
    request = visible(session, staff, request_id)
    result = session.execute(
        sa.update(CallbackRequest)
        .where(CallbackRequest.id == request.id, CallbackRequest.status == "open",
               CallbackRequest.claimed_by == staff.id,
               CallbackRequest.claimed_at > lapse_before(now, claim_minutes))
        .values(claimed_by=staff.id)
        .execution_options(synchronize_session=False))
    session.expire(request)  # read again, under the lock
    if cast("sa.CursorResult[Any]", result).rowcount != 1:
        raise NotYours
    return request


def release(session: Session, staff: Staff, request_id: int, now: datetime,
            claim_minutes: int) -> None:
    request = mine(session, staff, request_id, now, claim_minutes)
    request.claimed_by = request.claimed_at = None
    audit.record(session, now, "release", login=staff.login, operator_id=staff.id,
                 request_id=request.id)


def reveal(session: Session, staff: Staff, request_id: int, now: datetime,
           claim_minutes: int, address: str | None) -> CallbackRequest:
    """The request whose number is about to be shown in full: written to the audit log."""
    request = mine(session, staff, request_id, now, claim_minutes)
    audit.record(session, now, "reveal", login=staff.login, operator_id=staff.id,
                 request_id=request.id, address=address)
    return request


def save_notes(session: Session, vault: PhoneVault, staff: Staff, request_id: int, notes: str,
               now: datetime, claim_minutes: int) -> None:
    """Notes may say anything about a caller, their number too: stored sealed, like numbers."""
    request = mine(session, staff, request_id, now, claim_minutes)
    text = notes.strip()[:NOTES_LIMIT]
    request.notes = vault.seal(text) if text else None
    request.updated_at = now
    audit.record(session, now, "notes", login=staff.login, operator_id=staff.id,
                 request_id=request.id)


def record_outcome(session: Session, staff: Staff, request_id: int, outcome: str,
                   now: datetime, claim_minutes: int) -> CallbackRequest:
    """What came of a try. No answer puts the request back in the queue, in its old place,
    with the attempt counted; any other outcome closes it."""
    assert outcome in OUTCOMES
    request = mine(session, staff, request_id, now, claim_minutes)
    attempt = _open_attempt(session, staff, request.id) or CallBackAttempt(
        request_id=request.id, operator_id=staff.id, started_at=now)
    attempt.outcome = outcome
    attempt.ended_at = attempt.ended_at or now
    session.add(attempt)
    request.callback_attempts += 1
    request.outcome = outcome
    request.claimed_by = request.claimed_at = None
    request.updated_at = now
    if outcome in CLOSING_OUTCOMES:
        request.status = outcome
        request.closed_at = now
    audit.record(session, now, "outcome", login=staff.login, operator_id=staff.id,
                 request_id=request.id, detail=outcome)
    return request


def close(session: Session, actor: audit.Actor, request_id: int, now: datetime,
          detail: str = "closed") -> bool:
    """Close an open request with the outcome `closed`, whoever holds it (from the command
    line: a trial call's request, one made by mistake); False if it was closed already.

    One conditional UPDATE, so an operator recording an outcome at the same moment either
    closes it first (and this says so) or finds it closed."""
    result = session.execute(
        sa.update(CallbackRequest)
        .where(CallbackRequest.id == request_id, CallbackRequest.status == "open")
        .values(status="closed", outcome="closed", closed_at=now, updated_at=now,
                claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False))
    closed = cast("sa.CursorResult[Any]", result).rowcount == 1
    if closed:
        audit.record_by(session, actor, now, "outcome", request_id=request_id, detail=detail)
    return closed


def message_audio(session: Session, vault: PhoneVault, twilio: TwilioApi, staff: Staff,
                  request_id: int, now: datetime, claim_minutes: int) -> bytes:
    """The caller's message for the person who holds the request; audited. Our own copy
    once we have it; until then fetched from Twilio by the server (the browser never sees
    Twilio, its URL or our credentials), so that nobody waits on the next fetch to hear it.

    NotFound when the request has no message; TwilioApiError when Twilio would not give it.
    """
    request = mine(session, staff, request_id, now, claim_minutes)
    if request.recording_sid is None:
        raise NotFound
    audio = recordings.our_copy(session, vault, request.recording_sid)
    if audio is None:
        audio = twilio.recording_audio(request.recording_sid)
    audit.record(session, now, "play", login=staff.login, operator_id=staff.id,
                 request_id=request.id)
    return audio


def _open_attempt(session: Session, staff: Staff, request_id: int) -> CallBackAttempt | None:
    """This person's latest call on the request that has no outcome yet."""
    return session.scalar(
        sa.select(CallBackAttempt)
        .where(CallBackAttempt.request_id == request_id,
               CallBackAttempt.operator_id == staff.id, CallBackAttempt.outcome.is_(None))
        .order_by(CallBackAttempt.id.desc()).limit(1))


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    who: str
    attempt: CallBackAttempt


def history(session: Session, request_id: int) -> list[HistoryLine]:
    rows = session.execute(
        sa.select(CallBackAttempt, Operator.name)
        .join(Operator, Operator.id == CallBackAttempt.operator_id)
        .where(CallBackAttempt.request_id == request_id)
        .order_by(CallBackAttempt.started_at, CallBackAttempt.id))
    return [HistoryLine(attempt.started_at, name, attempt) for attempt, name in rows]


def claimer_name(session: Session, request: CallbackRequest) -> str | None:
    if request.claimed_by is None:
        return None
    return session.scalar(sa.select(Operator.name).where(Operator.id == request.claimed_by))
