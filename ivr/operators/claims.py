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
from ivr.models import CallBackAttempt, CallbackNote, CallbackRequest, Operator
from ivr.operators import audit, retries
from ivr.operators.identity import Staff
from ivr.phones import PhoneVault
from ivr.settings import Settings
from ivr.twilio.rest_api import TwilioApi

# What an operator can record; all but no_answer take the request out of the queue.
OUTCOMES = ("reached", "no_answer", "wrong_number", "do_not_call", "closed")
# A closed request's status is the outcome that closed it.
CLOSING_OUTCOMES = tuple(outcome for outcome in OUTCOMES if outcome != "no_answer")
NOTES_LIMIT = 4000
# What a supervisor may decide on a request tried CALLBACK_MAX_ATTEMPTS times without an
# answer: try again (a new round of tries, from the first delay), or close it so.
RETRY = "retry"
DECISIONS = (RETRY, *CLOSING_OUTCOMES)


class NotYours(Exception):
    """The request is not (or no longer) claimed by this person: someone else has it, or the
    claim lapsed, or it was closed."""


class NoDecisionAwaited(Exception):
    """The request does not wait for a supervisor's decision (any more)."""


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
          claim_minutes: int) -> Literal["yours", "taken", "closed", "decision"]:
    """Take the request, unless someone else holds it, it is closed, or it waits for a
    supervisor's decision."""
    request = visible(session, staff, request_id)
    if request.status == "open" and request.decision_since is not None:
        return "decision"
    result = session.execute(
        sa.update(CallbackRequest)
        .where(CallbackRequest.id == request.id, CallbackRequest.status == "open",
               CallbackRequest.decision_since.is_(None),
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
    if request.status == "open" and request.decision_since is not None:
        return "decision"
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


def add_note(session: Session, vault: PhoneVault, staff: Staff, request_id: int, text: str,
             now: datetime, claim_minutes: int) -> bool:
    """A note in the request's history, under this person's call going on (if any). Notes
    may say anything about a caller, their number too: stored sealed, like numbers, and
    never logged. False when there was nothing to keep."""
    request = mine(session, staff, request_id, now, claim_minutes)
    attempt = _open_attempt(session, staff, request.id)
    if not _keep_note(session, vault, staff, request, attempt, text, now):
        return False
    request.updated_at = now
    audit.record(session, now, "notes", login=staff.login, operator_id=staff.id,
                 request_id=request.id)
    return True


def _keep_note(session: Session, vault: PhoneVault, staff: Staff, request: CallbackRequest,
               attempt: CallBackAttempt | None, text: str, now: datetime) -> bool:
    kept = text.strip()[:NOTES_LIMIT]
    if not kept:
        return False
    session.add(CallbackNote(request_id=request.id, attempt_id=attempt.id if attempt else None,
                             operator_id=staff.id, at=now, text=vault.seal(kept)))
    return True


def record_outcome(session: Session, staff: Staff, request_id: int, outcome: str,
                   now: datetime, settings: Settings, vault: PhoneVault | None = None,
                   note: str = "") -> CallbackRequest:
    """What came of a try, with a note about it. No answer puts the request back in the
    queue, with the attempt counted and its next try later (ivr.operators.retries), or for a
    supervisor's decision after CALLBACK_MAX_ATTEMPTS; any other outcome closes it."""
    assert outcome in OUTCOMES
    request = mine(session, staff, request_id, now, settings.claim_minutes)
    attempt = _open_attempt(session, staff, request.id) or CallBackAttempt(
        request_id=request.id, operator_id=staff.id, started_at=now)
    attempt.outcome = outcome
    attempt.ended_at = attempt.ended_at or now
    session.add(attempt)
    session.flush()
    if vault is not None:
        _keep_note(session, vault, staff, request, attempt, note, now)
    _count_try(request, outcome, now, settings)
    audit.record(session, now, "outcome", login=staff.login, operator_id=staff.id,
                 request_id=request.id, detail=outcome)
    return request


def _count_try(request: CallbackRequest, outcome: str, now: datetime,
               settings: Settings) -> None:
    request.callback_attempts += 1
    request.outcome = outcome
    request.claimed_by = request.claimed_at = None
    request.updated_at = now
    if outcome in CLOSING_OUTCOMES:
        request.status = outcome
        request.closed_at = now
    else:
        retries.after_no_answer(request, settings, now)


def caller_not_reached(session: Session, attempt: CallBackAttempt, now: datetime,
                       settings: Settings) -> bool:
    """An operator's call back whose caller leg ended without an answer (no answer, busy,
    failed): the attempt's outcome is no answer, as if the operator had recorded it. Once
    per attempt, whichever of Twilio's callbacks says it first; False if it was recorded."""
    result = session.execute(
        sa.update(CallBackAttempt)
        .where(CallBackAttempt.id == attempt.id, CallBackAttempt.outcome.is_(None))
        .values(outcome="no_answer", ended_at=sa.func.coalesce(CallBackAttempt.ended_at, now))
        .execution_options(synchronize_session=False))
    if cast("sa.CursorResult[Any]", result).rowcount != 1:
        return False
    session.expire(attempt)
    request = session.get_one(CallbackRequest, attempt.request_id)
    if request.status != "open":
        return False
    _count_try(request, "no_answer", now, settings)
    login = session.scalar(sa.select(Operator.login).where(Operator.id == attempt.operator_id))
    audit.record(session, now, "outcome", login=login or "", operator_id=attempt.operator_id,
                 request_id=request.id, detail=f"no_answer: {attempt.caller_status}")
    return True


def decide(session: Session, staff: Staff, request_id: int, decision: str, now: datetime,
           address: str | None) -> CallbackRequest:
    """A supervisor's decision on a request tried CALLBACK_MAX_ATTEMPTS times without an
    answer: try again (a new round of tries, due now) or close it with an outcome. Audited.

    PermissionError for an operator; NotFound; NoDecisionAwaited when it waits for none."""
    if not staff.supervisor:
        raise PermissionError
    assert decision in DECISIONS
    request = visible(session, staff, request_id)
    if request.status != "open" or request.decision_since is None:
        raise NoDecisionAwaited
    if decision == RETRY:
        retries.start_again(request)
    else:
        request.status = request.outcome = decision
        request.closed_at = now
        request.claimed_by = request.claimed_at = None
    request.updated_at = now
    audit.record(session, now, "decision", login=staff.login, operator_id=staff.id,
                 request_id=request.id, detail=decision, address=address)
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
class Note:
    at: datetime
    who: str | None  # None: written before notes were kept per attempt
    text: str | None  # opened from its sealed form; None when no key of ours opens it


@dataclass(frozen=True)
class HistoryLine:
    """An attempt with the notes written on it, or a note about the request alone."""

    at: datetime
    who: str | None
    attempt: CallBackAttempt | None
    notes: list[Note]


def history(session: Session, vault: PhoneVault, request_id: int) -> list[HistoryLine]:
    """The request's attempts and notes, newest first; each note under its attempt."""
    attempts = session.execute(
        sa.select(CallBackAttempt, Operator.name)
        .join(Operator, Operator.id == CallBackAttempt.operator_id)
        .where(CallBackAttempt.request_id == request_id))
    notes = session.execute(
        sa.select(CallbackNote, Operator.name)
        .outerjoin(Operator, Operator.id == CallbackNote.operator_id)
        .where(CallbackNote.request_id == request_id)
        .order_by(CallbackNote.at.desc(), CallbackNote.id.desc()))
    under: dict[int, list[Note]] = {}
    lines: list[tuple[datetime, int, HistoryLine]] = []
    for note, name in notes:
        opened = Note(note.at, name, vault.unseal(note.text))
        if note.attempt_id is None:
            lines.append((note.at, 0, HistoryLine(note.at, name, None, [opened])))
        else:
            under.setdefault(note.attempt_id, []).append(opened)
    for attempt, name in attempts:
        lines.append((attempt.started_at, attempt.id,
                      HistoryLine(attempt.started_at, name, attempt, under.get(attempt.id, []))))
    lines.sort(key=lambda line: (line[0], line[1]), reverse=True)
    return [line for _at, _id, line in lines]


def claimer_name(session: Session, request: CallbackRequest) -> str | None:
    if request.claimed_by is None:
        return None
    return session.scalar(sa.select(Operator.name).where(Operator.id == request.claimed_by))
