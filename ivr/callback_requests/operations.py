"""Every change to a callback request, as a typed operation, applied by one function whether
it comes straight from a webhook or is replayed from the spool later: both paths store the
same way. JSON exists only at the spool's boundary (`to_json`, `from_json`), in the format
older spools were written in, so a spool left by a previous version still replays.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ivr.callback_requests import store
from ivr.callback_requests.store import NewRequest
from ivr.phones import PhoneVault


@dataclass(frozen=True)
class Save:
    """Store the request and tell the caller its number. `told`: the number a caller already
    heard, for a save that waited in the spool."""

    request: NewRequest
    told: str | None = None


@dataclass(frozen=True)
class KeepDraft:
    """The number is known: should the caller hang up now, the request is still made."""

    request: NewRequest


@dataclass(frozen=True)
class DropDraft:
    """The caller said the number we had is not the one to call."""

    call_sid: str


@dataclass(frozen=True)
class Abandon:
    """The call ended while its request was being taken: store what we had."""

    call_sid: str
    at: datetime


@dataclass(frozen=True)
class AddAnswers:
    """An optional answer given after the request was stored: may we say who we are, when
    it is safe to call, their offset from UTC in minutes (None: the caller did not say)."""

    call_sid: str
    may_identify: bool | None
    safe_window: str | None
    at: datetime
    utc_offset: int | None = None


@dataclass(frozen=True)
class AttachRecording:
    """Twilio's recording status callback: the caller's message is ready (or failed)."""

    recording_sid: str
    call_sid: str
    status: str
    duration: int | None
    at: datetime


Operation = Save | KeepDraft | DropDraft | Abandon | AddAnswers | AttachRecording


def apply(connection: Connection, vault: PhoneVault, operation: Operation) -> str | None:
    """Carry out one operation; for a save, the request number the caller is told."""
    match operation:
        case Save(request, told):
            return store.save(connection, vault, request, told=told)
        case KeepDraft(request):
            store.keep_draft(connection, vault, request)
        case DropDraft(call_sid):
            store.drop_draft(connection, call_sid)
        case Abandon(call_sid, at):
            store.abandon(connection, vault, call_sid, at)
        case AddAnswers(call_sid, may_identify, safe_window, at, utc_offset):
            store.add_answers(connection, call_sid, may_identify, safe_window, at, utc_offset)
        case AttachRecording(recording_sid, call_sid, status, duration, at):
            store.attach_recording(connection, recording_sid, call_sid, status, duration, at)
    return None


def permanent(error: Exception) -> bool:
    """True for an error that retrying will not cure (the data is refused, not the database
    unreachable): such an operation is set aside instead of blocking the spool."""
    return isinstance(error, sa.exc.IntegrityError | sa.exc.DataError | ValueError | KeyError
                      | TypeError)


def to_json(operation: Operation) -> dict[str, Any]:
    match operation:
        case Save(request, told):
            return {"op": "save", "request": request.to_json(), "told": told}
        case KeepDraft(request):
            return {"op": "draft", "request": request.to_json()}
        case DropDraft(call_sid):
            return {"op": "drop_draft", "call_sid": call_sid}
        case Abandon(call_sid, at):
            return {"op": "abandon", "call_sid": call_sid, "at": at.isoformat()}
        case AddAnswers(call_sid, may_identify, safe_window, at, utc_offset):
            return {"op": "answers", "call_sid": call_sid, "may_identify": may_identify,
                    "safe_window": safe_window, "at": at.isoformat(), "utc_offset": utc_offset}
        case AttachRecording():
            return {"op": "recording", **asdict(operation), "at": operation.at.isoformat()}


def from_json(data: dict[str, Any]) -> Operation:
    """The operation a spool record holds; ValueError if it holds none we know."""
    try:
        return _from_json(data)
    except (KeyError, TypeError, AttributeError) as error:
        raise ValueError(f"not a callback operation ({type(error).__name__})") from None


def _from_json(data: dict[str, Any]) -> Operation:
    match data.get("op"):
        case "save":
            told = data.get("told")
            return Save(NewRequest.from_json(data["request"]),
                        told=None if told is None else str(told))
        case "draft":
            return KeepDraft(NewRequest.from_json(data["request"]))
        case "drop_draft":
            return DropDraft(str(data["call_sid"]))
        case "abandon":
            return Abandon(str(data["call_sid"]), datetime.fromisoformat(data["at"]))
        case "answers":
            identify, window = data["may_identify"], data["safe_window"]
            offset = data.get("utc_offset")  # absent from records spooled before it was asked
            return AddAnswers(str(data["call_sid"]), None if identify is None else bool(identify),
                              None if window is None else str(window),
                              datetime.fromisoformat(data["at"]),
                              None if offset is None else int(offset))
        case "recording":
            duration = data["duration"]
            return AttachRecording(
                str(data["recording_sid"]), str(data["call_sid"]), str(data["status"]),
                None if duration is None else int(duration), datetime.fromisoformat(data["at"]))
    raise ValueError(f"unknown spool operation {data.get('op')!r}")
