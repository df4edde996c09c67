"""The durable way in for callback requests: the database, or else the spool.

Each change is an operation (a small JSON-able dict) applied by one function, whether it comes
straight from a webhook or is replayed from the spool later; so both paths store the same way.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from ivr.callbacks import store
from ivr.callbacks.spool import Operation, Spool
from ivr.callbacks.store import NewRequest
from ivr.models import CallbackDraft
from ivr.phones import PhoneVault

log = logging.getLogger(__name__)

# A request still being taken after this long belongs to a call that ended unnoticed.
DRAFT_LIFETIME = timedelta(minutes=15)
REPLAY_EVERY = 5.0  # seconds
SWEEP_EVERY = 12  # replay rounds: about a minute


def apply(connection: Connection, vault: PhoneVault, operation: Operation) -> Any:
    kind = operation["op"]
    if kind == "save":
        return store.save(connection, vault, NewRequest.from_json(operation["request"]),
                          told=operation.get("told"))
    if kind == "draft":
        return store.keep_draft(connection, vault, NewRequest.from_json(operation["request"]))
    if kind == "drop_draft":
        return store.drop_draft(connection, operation["call_sid"])
    if kind == "abandon":
        return store.abandon(connection, vault, operation["call_sid"],
                             datetime.fromisoformat(operation["at"]))
    if kind == "recording":
        return store.attach_recording(
            connection, operation["recording_sid"], operation["call_sid"], operation["status"],
            operation["duration"], datetime.fromisoformat(operation["at"]))
    raise ValueError(f"unknown spool operation {kind!r}")


def permanent(error: Exception) -> bool:
    """True for an error that retrying will not cure (the data is refused, not the database
    unreachable): such an operation is set aside instead of blocking the spool."""
    return isinstance(error, sa.exc.IntegrityError | sa.exc.DataError | ValueError | KeyError
                      | TypeError)


class CallbackBook:
    def __init__(self, engine: Engine, vault: PhoneVault, spool: Spool) -> None:
        self.engine = engine
        self.vault = vault
        self.spool = spool
        self._pid: int | None = None
        self._stop = threading.Event()

    def save(self, request: NewRequest) -> str | None:
        """Store a request; the request number to tell the caller, or None if neither the
        database nor the spool would take it (then the caller must not hear "saved")."""
        reference = self._perform({"op": "save", "request": request.to_json()})
        if reference is _SPOOLED:
            return request.reference
        return None if reference is _LOST else str(reference)

    def keep_draft(self, request: NewRequest) -> None:
        self._perform({"op": "draft", "request": request.to_json()})

    def drop_draft(self, call_sid: str) -> None:
        self._perform({"op": "drop_draft", "call_sid": call_sid})

    def abandon(self, call_sid: str, at: datetime) -> None:
        self._perform({"op": "abandon", "call_sid": call_sid, "at": at.isoformat()})

    def attach_recording(self, recording_sid: str, call_sid: str, status: str,
                         duration: int | None, at: datetime) -> None:
        self._perform({"op": "recording", "recording_sid": recording_sid, "call_sid": call_sid,
                       "status": status, "duration": duration, "at": at.isoformat()})

    def replay(self) -> int:
        """Move what the spool holds into the database; raises if the database is still away."""
        def apply_one(operation: Operation) -> None:
            with self.engine.begin() as connection:
                apply(connection, self.vault, operation)

        return self.spool.replay(apply_one, permanent)

    def sweep_drafts(self, now: datetime) -> int:
        """Requests half-taken in calls that ended without us hearing: store them, abandoned."""
        with self.engine.connect() as connection:
            stale = list(connection.scalars(sa.select(CallbackDraft.call_sid).where(
                CallbackDraft.started_at < now - DRAFT_LIFETIME)))
        for call_sid in stale:
            self.abandon(call_sid, now)
        return len(stale)

    def _perform(self, operation: Operation) -> Any:
        self.start_replayer()
        # While earlier operations wait in the spool, later ones wait behind them: a call's
        # steps must reach the database in the order they happened.
        attempts = () if self.spool.holds_any() else (1, 2)
        for attempt in attempts:
            try:
                with self.engine.begin() as connection:
                    return apply(connection, self.vault, operation)
            except sa.exc.IntegrityError:
                if attempt == 1:
                    continue  # the same call saved at this very moment by a retry: read it back
                log.exception("callback operation refused", extra={"operation": operation["op"]})
                break
            except Exception as error:
                log.error("database unavailable: callback operation spooled",
                          extra={"operation": operation["op"], "error": type(error).__name__})
                break
        if operation["op"] == "save":
            # From the spool the caller hears the request's own number; the replay keeps it
            # with the call, even when the request renews an older one.
            operation = {**operation, "told": operation["request"]["reference"]}
        try:
            self.spool.append(operation)
        except OSError as error:
            log.critical("callback operation lost: neither the database nor the spool took it",
                         extra={"operation": operation["op"], "error": error.strerror})
            return _LOST
        return _SPOOLED

    def start_replayer(self) -> None:
        """Replay the spool in the background of this process (once per process)."""
        if self._pid == os.getpid():
            return
        self._pid = os.getpid()
        self._stop = threading.Event()
        threading.Thread(target=self._replay_now_and_then, name="spool-replay",
                         daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def _replay_now_and_then(self) -> None:
        rounds = 0
        while not self._stop.wait(REPLAY_EVERY):
            rounds += 1
            try:
                if self.spool.waiting():
                    replayed = self.replay()
                    log.warning("spool replayed into the database", extra={"operations": replayed})
                if rounds % SWEEP_EVERY == 0:
                    self.sweep_drafts(datetime.now(UTC))
            except Exception as error:
                log.info("spool waits for the database", extra={"error": type(error).__name__})


class _Marker:
    pass


_SPOOLED = _Marker()
_LOST = _Marker()
