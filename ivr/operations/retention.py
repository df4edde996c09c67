"""Keeping only what we must: `ivr purge --older-than 90d`.

Removed once older than the retention period: callback requests that were closed (never an
open one, and never one somebody holds), the calls and call events of the log, the callers'
recorded messages (at Twilio first, then our row and our copy), Twilio's alerts, and the
website's chats and Telegram conversations that ended (with their messages; one left with a
request goes with it), and the Telegram bot's people quiet since (their encrypted ids).
A purged request's attempts and the operators' notes on it go with it. Kept
whatever their age: anything of a request still open, since someone is still waiting for
our call.

A recording Twilio would not delete is kept, with its request, for the next run: its SID is
how we would find it again.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import InstrumentedAttribute

from ivr.database import unit_of_work
from ivr.models import (
    AuditEntry,
    Call,
    CallBackAttempt,
    CallbackNote,
    CallbackRequest,
    CallEvent,
    ChatConversation,
    ChatMessage,
    Recording,
    RecordingCopy,
    RequestCall,
    TelegramChat,
    TwilioAlert,
)
from ivr.twilio.rest_api import TwilioApi, TwilioApiError

PERIOD = re.compile(r"([1-9][0-9]{0,4})([hdw])")
UNITS = {"h": "hours", "d": "days", "w": "weeks"}
BATCH = 500
T = TypeVar("T")


class PeriodError(ValueError):
    pass


def parse_period(text: str) -> timedelta:
    """`90d`, `12h` or `2w`."""
    match = PERIOD.fullmatch(text.strip().lower())
    if match is None:
        raise PeriodError(f"--older-than {text!r} is not a period like 90d, 12h or 2w")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


@dataclass
class Purged:
    requests: int = 0
    recordings: int = 0
    recordings_gone_already: int = 0
    calls: int = 0
    events: int = 0
    alerts: int = 0
    conversations: int = 0  # the website's chats, with their messages
    telegram_people: int = 0  # people of the Telegram bot with nothing left, quiet since
    failures: list[str] = field(default_factory=list)  # recordings Twilio kept, and why


def closed_before(cutoff: datetime) -> sa.ColumnElement[bool]:
    """A request nobody needs any more: closed, held by nobody, untouched since `cutoff`."""
    return sa.and_(
        CallbackRequest.status != "open",
        CallbackRequest.claimed_by.is_(None),
        CallbackRequest.updated_at < cutoff,
        sa.func.coalesce(CallbackRequest.closed_at, CallbackRequest.updated_at) < cutoff,
    )


def purge(engine: Engine, twilio: TwilioApi, cutoff: datetime) -> Purged:
    purged = Purged()
    kept = sa.not_(closed_before(cutoff))
    # The calls and messages of requests we keep are kept with them, however old.
    kept_calls = (sa.select(RequestCall.call_sid).join(
        CallbackRequest, CallbackRequest.id == RequestCall.request_id).where(kept))
    kept_recordings = sa.select(CallbackRequest.recording_sid).where(
        kept, CallbackRequest.recording_sid.is_not(None))
    with unit_of_work(engine) as session:
        connection = session.connection()
        requests = connection.execute(sa.select(
            CallbackRequest.id, CallbackRequest.recording_sid).where(closed_before(cutoff))).all()
        old_recordings = set(connection.scalars(sa.select(Recording.recording_sid).where(
            Recording.at < cutoff, Recording.call_sid.not_in(kept_calls),
            Recording.recording_sid.not_in(kept_recordings))))
    to_delete = old_recordings | {sid for _id, sid in requests if sid}
    undeletable = _delete_at_twilio(twilio, sorted(to_delete), purged)
    deleted = to_delete - undeletable
    with unit_of_work(engine) as session:
        connection = session.connection()
        for sids in _batches(sorted(deleted)):
            connection.execute(sa.delete(RecordingCopy)
                               .where(RecordingCopy.recording_sid.in_(sids)))
            connection.execute(sa.delete(Recording).where(Recording.recording_sid.in_(sids)))
    request_ids = [request_id for request_id, sid in requests if sid not in undeletable]
    for ids in _batches(request_ids):
        with unit_of_work(engine) as session:
            connection = session.connection()
            purged.requests += _delete_requests(connection, ids)
    purged.events = _delete_in_batches(engine, CallEvent, CallEvent.id, sa.and_(
        CallEvent.at < cutoff, CallEvent.call_sid.not_in(kept_calls)))
    purged.calls = _delete_in_batches(engine, Call, Call.id, sa.and_(
        Call.started_at < cutoff, Call.call_sid.not_in(kept_calls)))
    purged.alerts = _delete_in_batches(engine, TwilioAlert, TwilioAlert.id,
                                       TwilioAlert.at < cutoff)
    purged.conversations += _delete_conversations(engine, sa.and_(
        ChatConversation.status == "ended", ChatConversation.ended_at < cutoff,
        ChatConversation.request_id.is_(None)))
    # A Telegram person quiet since the cutoff, with no conversation left: their encrypted id
    # goes too (if they write again they start afresh).
    purged.telegram_people = _delete_in_batches(engine, TelegramChat, TelegramChat.id, sa.and_(
        TelegramChat.updated_at < cutoff, TelegramChat.conversation_id.is_(None)))
    return purged


def _delete_conversations(engine: Engine, condition: sa.ColumnElement[bool]) -> int:
    """Chats that ended before the cutoff, with their messages; a chat still waiting or held
    is kept, as an open request is. (One left with a callback request goes with it.)"""
    total = 0
    while True:
        with unit_of_work(engine) as session:
            connection = session.connection()
            ids = list(connection.scalars(sa.select(ChatConversation.id).where(condition)
                                          .limit(BATCH)))
            if not ids:
                return total
            total += _delete_chats(connection, ids)


def _delete_chats(connection: Connection, ids: list[int]) -> int:
    connection.execute(sa.update(TelegramChat).where(TelegramChat.conversation_id.in_(ids))
                       .values(conversation_id=None))
    connection.execute(sa.delete(ChatMessage).where(ChatMessage.conversation_id.in_(ids)))
    return connection.execute(sa.delete(ChatConversation)
                              .where(ChatConversation.id.in_(ids))).rowcount


def _delete_at_twilio(twilio: TwilioApi, sids: list[str], purged: Purged) -> set[str]:
    """Delete each recording at Twilio; the SIDs it would not delete."""
    undeletable = set()
    for sid in sids:
        try:
            if twilio.delete_recording(sid):
                purged.recordings += 1
            else:
                purged.recordings_gone_already += 1
        except TwilioApiError as error:
            undeletable.add(sid)
            purged.failures.append(f"{sid}: {error}")
    return undeletable


def _delete_requests(connection: Connection, ids: list[int]) -> int:
    # The audit log keeps who did what; only its link to the request goes.
    connection.execute(sa.update(AuditEntry).where(AuditEntry.request_id.in_(ids))
                       .values(request_id=None))
    connection.execute(sa.delete(CallbackNote).where(CallbackNote.request_id.in_(ids)))
    connection.execute(sa.delete(CallBackAttempt).where(CallBackAttempt.request_id.in_(ids)))
    connection.execute(sa.delete(RequestCall).where(RequestCall.request_id.in_(ids)))
    # A message written with a request left in the chat goes with the request.
    _delete_chats(connection, list(connection.scalars(
        sa.select(ChatConversation.id).where(ChatConversation.request_id.in_(ids)))))
    # Checked again inside the transaction: a request reopened meanwhile is not touched.
    result = connection.execute(sa.delete(CallbackRequest).where(
        CallbackRequest.id.in_(ids), CallbackRequest.status != "open",
        CallbackRequest.claimed_by.is_(None)))
    return result.rowcount


def _delete_in_batches(engine: Engine, model: type, key: InstrumentedAttribute[int],
                       condition: sa.ColumnElement[bool]) -> int:
    """Delete in short transactions, so that the call log's writer is never held up long."""
    total = 0
    while True:
        with unit_of_work(engine) as session:
            connection = session.connection()
            ids = list(connection.scalars(sa.select(key).where(condition).limit(BATCH)))
            if not ids:
                return total
            total += connection.execute(sa.delete(model).where(key.in_(ids))).rowcount


def _batches(items: list[T]) -> Iterable[list[T]]:
    for start in range(0, len(items), BATCH):
        yield items[start:start + BATCH]
