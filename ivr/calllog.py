"""The call log: every leg in `calls`, every webhook in `call_events`.

Webhooks hand entries to a writer thread and answer at once; the writer stores them in
batches, a transaction each. A caller's menu never waits on the database, and a database
that is down for a while delays the log instead of breaking calls: the writer keeps what it
holds and tries again. What a hard kill of the process can lose is the last fraction of a
second of log, never a callback request (those are written before the caller is told).

Every write is idempotent (Twilio retries and replays webhooks), and a call's status only
ever moves forward (status callbacks arrive out of order).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ivr.database import upsert
from ivr.models import Call, CallEvent
from ivr.phones import PhoneVault

log = logging.getLogger(__name__)

# The order a call's status moves in; terminal states share the last rank.
STATUS_RANK = {"queued": 1, "initiated": 2, "ringing": 3, "in-progress": 4, "completed": 5,
               "busy": 5, "failed": 5, "no-answer": 5, "canceled": 5}
TERMINAL_RANK = 5


@dataclass(frozen=True)
class CallSeen:
    """A call we may not know yet: its row is created once, on the first webhook that has it."""

    call_sid: str
    parent_call_sid: str | None
    direction: str
    from_number: str | None  # E.164 or None when withheld
    to_number: str | None
    status: str
    at: datetime


@dataclass(frozen=True)
class LanguageChosen:
    call_sid: str
    language: str


@dataclass(frozen=True)
class ParentKnown:
    """An operator's leg, now connected to the caller it took."""

    call_sid: str
    parent_call_sid: str


@dataclass(frozen=True)
class StatusReported:
    call_sid: str
    status: str
    duration_seconds: int | None
    at: datetime


@dataclass(frozen=True)
class Event:
    call_sid: str
    parent_call_sid: str | None
    kind: str
    at: datetime
    node: str | None = None
    digits: str | None = None
    status: str | None = None
    outcome: str | None = None
    sequence_number: int | None = None
    dedupe_key: str | None = None


Entry = CallSeen | LanguageChosen | ParentKnown | StatusReported | Event


def write_entries(connection: Connection, vault: PhoneVault, entries: Sequence[Entry]) -> None:
    """Store a batch, a statement per kind of entry (executemany: one round trip each).

    The order of the phases makes a batch correct in any arrival order: a leg exists before
    it is updated, and a status only moves forward whatever came first.
    """
    calls = _merged_calls(vault, [entry for entry in entries if isinstance(entry, CallSeen)])
    if calls:
        connection.execute(_calls_upsert(connection), calls)
    languages = [{"sid": entry.call_sid, "language": entry.language}
                 for entry in entries if isinstance(entry, LanguageChosen)]
    if languages:
        connection.execute(LANGUAGE_UPDATE, languages)
    parents = [{"sid": entry.call_sid, "parent": entry.parent_call_sid}
               for entry in entries if isinstance(entry, ParentKnown)]
    if parents:
        connection.execute(PARENT_UPDATE, parents)
    reports = [entry for entry in entries if isinstance(entry, StatusReported)]
    for terminal, update in ((False, PROGRESS_UPDATE), (True, END_UPDATE)):
        rows = [_status_row(report) for report in reports
                if (STATUS_RANK[report.status] == TERMINAL_RANK) == terminal]
        if rows:
            connection.execute(update, rows)
    events = [_event_row(entry) for entry in entries if isinstance(entry, Event)]
    if events:
        connection.execute(
            _insert_ignoring(connection, CallEvent.__table__, ["call_sid", "dedupe_key"]), events)


_SID: sa.BindParameter[str] = sa.bindparam("sid", type_=sa.String())
LANGUAGE_UPDATE = (sa.update(Call).where(Call.call_sid == _SID)
                   .values(language=sa.bindparam("language")))
PARENT_UPDATE = (sa.update(Call).where(Call.call_sid == _SID)
                 .values(parent_call_sid=sa.bindparam("parent")))
_CURRENT_RANK = sa.case(STATUS_RANK, value=Call.status, else_=0)
PROGRESS_UPDATE = (sa.update(Call).where(Call.call_sid == _SID,
                                         sa.bindparam("rank") > _CURRENT_RANK)
                   .values(status=sa.bindparam("status")))
END_UPDATE = (sa.update(Call).where(Call.call_sid == _SID, _CURRENT_RANK < TERMINAL_RANK)
              .values(status=sa.bindparam("status"), ended_at=sa.bindparam("at"),
                      duration_seconds=sa.func.coalesce(sa.bindparam("duration", type_=sa.Integer),
                                                        Call.duration_seconds)))


def _status_row(report: StatusReported) -> dict[str, object]:
    return {"sid": report.call_sid, "status": report.status, "rank": STATUS_RANK[report.status],
            "at": report.at, "duration": report.duration_seconds}


def _insert_ignoring(connection: Connection, table: sa.Table | sa.FromClause,
                     unique: list[str]) -> sa.Insert:
    return upsert(connection, table).on_conflict_do_nothing(index_elements=unique)


# What one webhook knows of a leg that another did not (an operator's leg is first heard of
# from the caller's side, without its numbers): filled in whichever arrives first.
FILLED_IN = ("parent_call_sid", "from_number", "from_number_hash", "to_number", "to_number_hash")


def _calls_upsert(connection: Connection) -> sa.Insert:
    insert = upsert(connection, Call.__table__)
    table = Call.__table__.c
    return insert.on_conflict_do_update(index_elements=["call_sid"], set_={
        name: sa.func.coalesce(table[name], insert.excluded[name]) for name in FILLED_IN})


def _merged_calls(vault: PhoneVault, seen: Sequence[CallSeen]) -> list[dict[str, object]]:
    """One row per leg (a statement may not touch a row twice), first report first."""
    rows: dict[str, dict[str, object]] = {}
    for entry in seen:
        known = rows.get(entry.call_sid)
        if known is None:
            rows[entry.call_sid] = _call_row(vault, entry)
        elif any(known[name] is None for name in FILLED_IN):
            row = _call_row(vault, entry)
            known.update({name: row[name] for name in FILLED_IN if known[name] is None})
    return list(rows.values())


def _call_row(vault: PhoneVault, seen: CallSeen) -> dict[str, object]:
    return {
        "call_sid": seen.call_sid,
        "parent_call_sid": seen.parent_call_sid,
        "direction": seen.direction,
        "from_number": vault.encrypt(seen.from_number) if seen.from_number else None,
        "from_number_hash": vault.digest(seen.from_number) if seen.from_number else None,
        "to_number": vault.encrypt(seen.to_number) if seen.to_number else None,
        "to_number_hash": vault.digest(seen.to_number) if seen.to_number else None,
        "status": seen.status,
        "started_at": seen.at,
    }


def _event_row(event: Event) -> dict[str, object]:
    return {name: getattr(event, name) for name in (
        "call_sid", "parent_call_sid", "kind", "at", "node", "digits", "status", "outcome",
        "sequence_number", "dedupe_key")}


class CallLog:
    """Queues entries in memory and stores them from one background thread per process."""

    def __init__(self, engine: Engine, vault: PhoneVault, *, batch_size: int = 500,
                 linger: float = 0.05, limit: int = 100_000) -> None:
        self.engine = engine
        self.vault = vault
        self.batch_size = batch_size
        self.linger = linger
        self.limit = limit
        self.dropped = 0
        self._pid: int | None = None
        self._reset()

    def _reset(self) -> None:
        # Also run in a forked child: locks and threads do not survive a fork.
        self._pending: deque[Entry] = deque()
        self._in_flight = 0
        self._condition = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None

    def record(self, *entries: Entry) -> None:
        if self._pid != os.getpid():
            self._start()
        with self._condition:
            room = self.limit - len(self._pending)
            if room < len(entries):
                self.dropped += len(entries) - max(room, 0)
                log.error("call log full: entries dropped", extra={"dropped": self.dropped})
                entries = entries[:max(room, 0)]
            self._pending.extend(entries)
            self._condition.notify()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until everything recorded so far is stored. False if that took too long."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._pending or self._in_flight:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._condition.wait(remaining)
        return True

    def close(self, timeout: float = 10.0) -> None:
        """Store what is waiting (for at most `timeout` seconds), then stop the writer."""
        if self._pid != os.getpid() or self._thread is None:
            return
        atexit.unregister(self.close)
        if not self.drain(timeout):
            log.error("call log: entries not stored at shutdown",
                      extra={"lost": len(self._pending) + self._in_flight})
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        self._thread.join(timeout=2)
        self._thread = None

    def _start(self) -> None:
        self._pid = os.getpid()
        self._reset()
        self._thread = threading.Thread(target=self._run, name="call-log", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _run(self) -> None:
        failures = 0
        while True:
            batch = self._take()
            if batch is None:
                return
            try:
                self._store(batch)
            except Exception as error:
                failures += 1
                self._give_back(batch)
                if failures == 1 or failures % 20 == 0:
                    log.error("call log: database unavailable, will retry",
                              extra={"waiting": len(self._pending) + len(batch),
                                     "error": type(error).__name__})
                with self._condition:
                    self._condition.wait_for(lambda: self._closed,
                                             timeout=min(0.1 * 2 ** min(failures, 6), 5.0))
                continue
            if failures:
                log.warning("call log: database back, stored what was waiting")
                failures = 0
            self._done()

    def _take(self) -> list[Entry] | None:
        with self._condition:
            while not self._pending and not self._closed:
                self._condition.wait()
            if self._closed:
                return None
            # Let a burst gather into one transaction; each record() wakes us, so wait on.
            self._condition.wait_for(
                lambda: self._closed or len(self._pending) >= self.batch_size, self.linger)
            count = min(self.batch_size, len(self._pending))
            batch = [self._pending.popleft() for _ in range(count)]
            self._in_flight = len(batch)
            return batch

    def _give_back(self, batch: list[Entry]) -> None:
        with self._condition:
            self._pending.extendleft(reversed(batch))
            self._in_flight = 0

    def _done(self) -> None:
        with self._condition:
            self._in_flight = 0
            self._condition.notify_all()

    def _store(self, batch: list[Entry]) -> None:
        try:
            self._write(batch)
        except Exception as error:
            if _transient(error):
                raise
            # One bad entry must not hold back the rest: store each alone, drop what fails.
            for entry in batch:
                try:
                    self._write([entry])
                except Exception as error:
                    if _transient(error):
                        raise
                    log.exception("call log: entry refused, dropped",
                                  extra={"entry": type(entry).__name__})

    def _write(self, batch: Sequence[Entry]) -> None:
        with self.engine.begin() as connection:
            write_entries(connection, self.vault, batch)


def _transient(error: Exception) -> bool:
    """Errors that say nothing about the data (database down, locked, not migrated yet):
    keep the batch and try again later."""
    if not isinstance(error, sa.exc.SQLAlchemyError):
        return False
    if isinstance(error, sa.exc.IntegrityError | sa.exc.DataError):
        return False
    return isinstance(error, sa.exc.DBAPIError) or not isinstance(error, sa.exc.StatementError)
