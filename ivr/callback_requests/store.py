"""Callback requests in the database: saved once per call, one open request per number.

Every function here is idempotent, so that Twilio's retries and the spool's replays (which may
repeat an operation after a crash) store each request exactly once.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from ivr import phones
from ivr.database import built_per_dialect
from ivr.models import CallbackDraft, CallbackRequest, Recording, RequestCall
from ivr.phones import PhoneVault

# Lower is more urgent. Someone who hung up while waiting may not have been able to stay on.
# `abandoned`: hung up while their request was being taken; `queue_hangup`: hung up while
# waiting in the operators' queue (the request is made from their caller ID).
PRIORITY = {"abandoned": 1, "queue_hangup": 1, "waited_too_long": 2, "no_operator": 2,
            "surge": 2, "out_of_hours": 3, "chosen": 3, "no_choice": 3}
REASONS = tuple(PRIORITY)
# Requests made for a caller who hung up: nobody was told a request number.
HUNG_UP = ("abandoned", "queue_hangup")
# "wait": do not call at all, the caller will call us again.
WINDOWS = ("any", "day", "evening", "wait")


@dataclass(frozen=True)
class NewRequest:
    """What a caller told us, ready to store."""

    call_sid: str
    number: str  # E.164
    source: str  # caller_id or entered
    confirmed: bool
    language: str
    reason: str
    may_identify: bool
    safe_window: str | None
    reference: str  # the request number we tell the caller, if the request is new
    at: datetime

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "at": self.at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> NewRequest:
        values = dict(data)
        values["at"] = datetime.fromisoformat(str(values["at"]))
        return cls(**values)  # type: ignore[arg-type]


def new_reference() -> str:
    """Six digits a caller can note down and an operator can search for."""
    return f"{secrets.randbelow(900_000) + 100_000}"


# What a new request is stored with; the rest (claims, outcomes) starts empty.
NEW_REQUEST_COLUMNS = (
    "reference", "number", "number_hash", "number_source", "number_confirmed", "language",
    "reason", "priority", "status", "may_identify", "safe_window", "caller_timezone",
    "first_call_sid", "last_call_sid", "attempts", "created_at", "updated_at")


class _Statements:
    """This module's statements for one kind of database, built once with bind parameters:
    on the webhooks of a callback request, building them cost more than running them."""

    def __init__(self, dialect: str) -> None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        call_sid = sa.bindparam("call_sid", type_=sa.String())
        self.stored_call = (
            sa.select(RequestCall.request_id, RequestCall.reference.label("told"),
                      CallbackRequest.reference)
            .join(CallbackRequest, RequestCall.request_id == CallbackRequest.id)
            .where(RequestCall.call_sid == call_sid))
        drafts = CallbackDraft.__table__
        fields = [column.name for column in drafts.columns]
        # One statement: no draft for a call whose request is stored (a late replay).
        draft = insert(CallbackDraft).from_select(fields, sa.select(
            *[sa.bindparam(name, type_=drafts.c[name].type) for name in fields]).where(
            ~sa.exists().where(RequestCall.call_sid == call_sid)))
        self.keep_draft = draft.on_conflict_do_update(index_elements=["call_sid"], set_={
            name: draft.excluded[name] for name in fields if name not in ("call_sid",
                                                                         "started_at")})
        self.drop_draft = sa.delete(CallbackDraft).where(CallbackDraft.call_sid == call_sid)
        self.draft = sa.select(CallbackDraft).where(CallbackDraft.call_sid == call_sid)
        self.draft_sid = sa.select(CallbackDraft.call_sid).where(CallbackDraft.call_sid == call_sid)
        requests = CallbackRequest.__table__
        columns = list(NEW_REQUEST_COLUMNS)
        # Only under a request number no other open request has (six random digits meet,
        # now and then): else nothing is stored and another number is tried.
        new = insert(CallbackRequest).from_select(columns, sa.select(
            *[sa.bindparam(name, type_=requests.c[name].type) for name in columns]).where(
            ~sa.exists().where(CallbackRequest.reference == sa.bindparam("reference"),
                               CallbackRequest.status == "open")))
        least = sa.func.min if dialect == "sqlite" else sa.func.least
        self.upsert_request = new.on_conflict_do_update(
            index_elements=["number_hash"],
            index_where=sa.text("status = 'open'"),
            set_={
                "attempts": requests.c.attempts + 1,
                "last_call_sid": new.excluded.last_call_sid,
                "updated_at": new.excluded.updated_at,
                "language": new.excluded.language,
                "number_confirmed": requests.c.number_confirmed | new.excluded.number_confirmed,
                "may_identify": new.excluded.may_identify,
                "safe_window": sa.func.coalesce(new.excluded.safe_window,
                                                requests.c.safe_window),
                "priority": least(requests.c.priority, new.excluded.priority),
                # They called again: a new round of tries, due now (ivr.operators.retries).
                "tries_in_round": 0,
                "next_try_at": sa.null(),
                "decision_since": sa.null(),
            },
        ).returning(requests.c.id, requests.c.reference)
        self.link_call = insert(RequestCall)
        self.recording = insert(Recording).on_conflict_do_nothing(
            index_elements=["recording_sid"])
        self.known_recording = (
            sa.select(Recording.recording_sid, Recording.duration_seconds)
            .where(Recording.call_sid == call_sid, Recording.status == "completed")
            .order_by(Recording.at.desc()).limit(1))
        # The newest message wins: only the request's latest call may set it.
        self.attach = (sa.update(CallbackRequest)
                       .where(CallbackRequest.last_call_sid == call_sid,
                              CallbackRequest.status == "open")
                       .values(recording_sid=sa.bindparam("recording_sid"),
                               recording_duration=sa.bindparam("duration")))


_statements = built_per_dialect(lambda connection: _Statements(connection.dialect.name))


def save(connection: Connection, vault: PhoneVault, request: NewRequest,
         told: str | None = None) -> str:
    """Store the request and return the request number the caller should hear.

    `told`: the number the caller already heard, for a request replayed from the spool. A
    retry of the same call returns what the first attempt stored. A number that already has an
    open request renews that one (newest answers and message, one more attempt).
    """
    automatic = request.reason in HUNG_UP  # made for a caller who hung up: nobody is told
    stored = _stored_call(connection, request.call_sid)
    if stored is not None:
        if stored.told is not None or automatic:
            return str(stored.told or stored.reference)
        # The call was stored as abandoned before its own save arrived from the spool: the
        # caller did finish, so their answers and the number they heard count.
        _complete(connection, stored.request_id, request)
        completed = told or str(stored.reference)
        connection.execute(sa.update(RequestCall).where(
            RequestCall.call_sid == request.call_sid).values(reference=completed))
        _attach_known_recording(connection, request.call_sid)
        return completed
    request_id, reference = _upsert_request(connection, vault, request)
    heard = None if automatic else told or reference
    statements = _statements(connection)
    connection.execute(statements.link_call, {
        "call_sid": request.call_sid, "request_id": request_id, "at": request.at,
        "reference": heard})
    connection.execute(statements.drop_draft, {"call_sid": request.call_sid})
    _attach_known_recording(connection, request.call_sid)
    return heard or reference


def _stored_call(connection: Connection, call_sid: str) -> sa.Row[int, str | None, str] | None:
    """The request this call made or renewed, and the number its caller heard, if stored."""
    row: sa.Row[int, str | None, str] | None = connection.execute(
        _statements(connection).stored_call, {"call_sid": call_sid}).one_or_none()
    return row


def _complete(connection: Connection, request_id: int, request: NewRequest) -> None:
    """A request first stored as abandoned gets the answers its caller did give."""
    made_by_this_call = CallbackRequest.first_call_sid == request.call_sid
    connection.execute(sa.update(CallbackRequest).where(CallbackRequest.id == request_id).values(
        number_confirmed=CallbackRequest.number_confirmed | request.confirmed,
        may_identify=request.may_identify,
        safe_window=sa.func.coalesce(request.safe_window, CallbackRequest.safe_window),
        reason=sa.case((made_by_this_call, request.reason), else_=CallbackRequest.reason),
        priority=sa.case((made_by_this_call, PRIORITY[request.reason]),
                         else_=CallbackRequest.priority),
    ))


def find_by_reference(connection: Connection, reference: str) -> CallbackRequest | None:
    """The request a caller quotes: its own number, or one a caller was told on a call. A
    number names one open request, but closed ones may have had it too: the open one first,
    else the newest."""
    named = (sa.select(CallbackRequest.id).where(CallbackRequest.reference == reference)
             .union(sa.select(RequestCall.request_id).where(RequestCall.reference == reference)))
    with Session(bind=connection) as session:
        return session.scalars(
            sa.select(CallbackRequest).where(CallbackRequest.id.in_(named))
            .order_by((CallbackRequest.status == "open").desc(), CallbackRequest.id.desc())
            .limit(1)).first()


def made_or_renewed_by(connection: Connection, call_sid: str) -> list[CallbackRequest]:
    """The requests a call made or renewed (its `first_call_sid` says which)."""
    with Session(bind=connection) as session:
        return list(session.scalars(
            sa.select(CallbackRequest).join(RequestCall,
                                            RequestCall.request_id == CallbackRequest.id)
            .where(RequestCall.call_sid == call_sid).order_by(CallbackRequest.id)))


def _upsert_request(connection: Connection, vault: PhoneVault,
                    request: NewRequest) -> tuple[int, str]:
    """Store or renew the request. A caller who was already told `request.reference` (from
    the spool) keeps it with their call, even when the request itself gets another number."""
    values = {
        "reference": request.reference,
        "number": vault.encrypt(request.number),
        "number_hash": vault.digest(request.number),
        "number_source": request.source,
        "number_confirmed": request.confirmed,
        "language": request.language,
        "reason": request.reason,
        "priority": PRIORITY[request.reason],
        "status": "open",
        "may_identify": request.may_identify,
        "safe_window": request.safe_window,
        "caller_timezone": phones.timezone_of(request.number, request.at),
        "first_call_sid": request.call_sid,
        "last_call_sid": request.call_sid,
        "attempts": 1,
        "created_at": request.at,
        "updated_at": request.at,
    }
    statement = _statements(connection).upsert_request
    while (row := connection.execute(statement, values).one_or_none()) is None:
        values["reference"] = new_reference()  # that number is another open request's
    return int(row.id), str(row.reference)


def keep_draft(connection: Connection, vault: PhoneVault, request: NewRequest) -> None:
    """The number is known: should the caller hang up now, the request is still made.

    A replay from the spool arriving after the request itself is stored keeps no draft."""
    connection.execute(_statements(connection).keep_draft, {
        "call_sid": request.call_sid, "number": vault.encrypt(request.number),
        "number_source": request.source, "number_confirmed": request.confirmed,
        "language": request.language, "reason": request.reason,
        "may_identify": request.may_identify, "safe_window": request.safe_window,
        "started_at": request.at})


def drop_draft(connection: Connection, call_sid: str) -> None:
    connection.execute(_statements(connection).drop_draft, {"call_sid": call_sid})


def draft_exists(connection: Connection, call_sid: str) -> bool:
    """Whether a request is being taken in this call (its number known, not yet stored)."""
    return connection.execute(_statements(connection).draft_sid,
                              {"call_sid": call_sid}).first() is not None


def abandon(connection: Connection, vault: PhoneVault, call_sid: str,
            at: datetime) -> str | None:
    """The call ended while its request was being taken (or on its way to an operator's
    queue): store what we had, as abandoned (queue_hangup for the latter)."""
    draft = connection.execute(_statements(connection).draft,
                               {"call_sid": call_sid}).one_or_none()
    if draft is None:
        return None
    return save(connection, vault, NewRequest(
        call_sid=call_sid, number=vault.decrypt(draft.number), source=draft.number_source,
        confirmed=draft.number_confirmed, language=draft.language,
        reason=draft.reason if draft.reason in HUNG_UP else "abandoned",
        may_identify=draft.may_identify, safe_window=draft.safe_window,
        reference=new_reference(), at=at))


def add_answers(connection: Connection, call_sid: str, may_identify: bool | None,
                safe_window: str | None, at: datetime, utc_offset: int | None = None) -> None:
    """An optional answer the caller gave after their request was stored (the request this
    call made or renewed; a closed one is left as it is)."""
    values: dict[str, object] = {"updated_at": at}
    if may_identify is not None:
        values["may_identify"] = may_identify
    if safe_window is not None:
        values["safe_window"] = safe_window
    if utc_offset is not None:
        values["caller_utc_offset"] = utc_offset
    made_by_call = sa.select(RequestCall.request_id).where(RequestCall.call_sid == call_sid)
    connection.execute(sa.update(CallbackRequest).where(
        CallbackRequest.id.in_(made_by_call), CallbackRequest.status == "open").values(values))


def attach_recording(connection: Connection, recording_sid: str, call_sid: str, status: str,
                     duration: int | None, at: datetime) -> None:
    """Twilio's recording status callback; it may come before or after the request is saved."""
    connection.execute(_statements(connection).recording, {
        "recording_sid": recording_sid, "call_sid": call_sid, "status": status,
        "duration_seconds": duration, "at": at})
    _attach_known_recording(connection, call_sid)


def _attach_known_recording(connection: Connection, call_sid: str) -> None:
    statements = _statements(connection)
    recording = connection.execute(statements.known_recording,
                                   {"call_sid": call_sid}).one_or_none()
    if recording is not None:
        connection.execute(statements.attach, {
            "call_sid": call_sid, "recording_sid": recording.recording_sid,
            "duration": recording.duration_seconds})


def requests_by_urgency(connection: Connection,
                        where: sa.ColumnElement[bool] | None = None) -> list[CallbackRequest]:
    """Requests (those `where` picks, or all), most urgent first: priority, then who reached
    us first."""
    query = sa.select(CallbackRequest).order_by(CallbackRequest.priority,
                                                CallbackRequest.created_at, CallbackRequest.id)
    if where is not None:
        query = query.where(where)
    with Session(bind=connection) as session:
        return list(session.scalars(query))
