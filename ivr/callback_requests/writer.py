"""The durable way in for callback requests: the database, or else the spool.

A caller hears "saved" only once their request is in the database or, when the database
cannot take it, written and fsync'ed to this instance's spool, which is replayed into the
database in the background as soon as it can be.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ivr.callback_requests import store
from ivr.callback_requests.operations import (
    Abandon,
    AddAnswers,
    AttachRecording,
    DropDraft,
    KeepDraft,
    Operation,
    Save,
    apply,
    permanent,
)
from ivr.callback_requests.spool import Spool
from ivr.callback_requests.store import NewRequest
from ivr.database import one_read, transaction, unit_of_work
from ivr.models import CallbackDraft
from ivr.operations import metrics
from ivr.phones import PhoneVault

log = logging.getLogger(__name__)

# A request still being taken after this long belongs to a call that ended unnoticed.
DRAFT_LIFETIME = timedelta(minutes=15)
REPLAY_EVERY = 5.0  # seconds
# Operations held in memory when neither the database nor the disk takes them (each a few
# hundred bytes): beyond this, something is badly wrong for a long time.
HOLD_LIMIT = 50_000
SWEEP_EVERY = 12  # replay rounds: about a minute


@dataclass(frozen=True)
class Stored:
    """In the database; `reference` is the request number the caller is told."""

    reference: str


@dataclass(frozen=True)
class Spooled:
    """On this instance's disk until the database takes it, under the number the caller is
    told."""

    reference: str


@dataclass(frozen=True)
class NotKept:
    """Neither the database nor the disk took it: the caller must not hear "saved"."""


Saved = Stored | Spooled | NotKept


class RequestWriter:
    """Carries out every operation on callback requests, and replays the spool.

    Should neither the database nor the disk take an operation, it is held in this process's
    memory and written as soon as one of them can: the caller on the line is not told
    "saved" (nothing durable has it yet), but a caller who already hung up is not forgotten
    either. Only the death of the process loses what it holds, and that is logged.
    """

    def __init__(self, engine: Engine, vault: PhoneVault, spool: Spool,
                 hold_limit: int = HOLD_LIMIT) -> None:
        self.engine = engine
        self.vault = vault
        self.spool = spool
        self.hold_limit = hold_limit
        self._held: deque[Operation] = deque()
        self._held_lock = threading.Lock()
        self._pid: int | None = None
        self._stop = threading.Event()

    def save(self, request: NewRequest) -> Saved:
        """Store a request: where it went, and the request number to tell the caller."""
        return self._perform(Save(request))

    def keep_draft(self, request: NewRequest) -> None:
        self._perform(KeepDraft(request))

    def drop_draft(self, call_sid: str) -> None:
        self._perform(DropDraft(call_sid))

    def abandon(self, call_sid: str, at: datetime) -> None:
        """A call ended: store what its caller had left half-given, if anything."""
        if self._nothing_half_given(call_sid):
            return
        self._perform(Abandon(call_sid, at))

    def add_answers(self, answers: AddAnswers) -> None:
        self._perform(answers)

    def attach_recording(self, recording: AttachRecording) -> None:
        self._perform(recording)

    def replay(self) -> int:
        """Move what the spool holds into the database; raises if the database is still away."""
        return self.spool.replay(self._apply_in_order, permanent)

    def replay_rejected(self) -> int:
        """Try the records the spool set aside once more."""
        return self.spool.replay_rejected(self._apply_in_order, permanent)

    def held(self) -> int:
        """Operations this process holds in memory, waiting for the database or the disk."""
        return len(self._held)

    def _nothing_half_given(self, call_sid: str) -> bool:
        """True when the database holds no draft for the call and nothing waits to reach it:
        most calls end so, and one read without a transaction tells it. Any doubt (the
        database away, operations waiting in the spool or in memory) is False, and the
        abandon goes the usual way."""
        if self._held or self.spool.holds_any():
            return False
        try:
            with one_read(self.engine) as connection:
                return not store.draft_exists(connection, call_sid)
        except Exception:
            return False

    def _apply(self, operation: Operation) -> str | None:
        with transaction(self.engine) as connection:
            return apply(connection, self.vault, operation)

    def _apply_in_order(self, operations: Sequence[Operation]) -> None:
        """Operations from the spool, in their order, in one transaction."""
        with transaction(self.engine) as connection:
            for operation in operations:
                apply(connection, self.vault, operation)

    def sweep_drafts(self, now: datetime) -> int:
        """Requests half-taken in calls that ended without us hearing: store them, abandoned."""
        with unit_of_work(self.engine) as session:
            stale = list(session.scalars(sa.select(CallbackDraft.call_sid).where(
                CallbackDraft.started_at < now - DRAFT_LIFETIME)))
        for call_sid in stale:
            self.abandon(call_sid, now)
        return len(stale)

    def _perform(self, operation: Operation) -> Saved:
        self.start_replayer()
        # Operations held in memory go first: a call's steps reach storage in their order.
        if self._held and not self.flush_held():
            return self._hold(operation)
        kept = self._deliver(operation)
        return kept if kept is not None else self._hold(operation)

    def _deliver(self, operation: Operation, caller_told: bool = True
                 ) -> Stored | Spooled | None:
        """The database, or else the spool; None if neither took it. `caller_told`: whether
        a caller hears the request's number now (not so for an operation held in memory)."""
        # While earlier operations wait in the spool, later ones wait behind them: a call's
        # steps must reach the database in the order they happened.
        attempts = () if self.spool.holds_any() else (1, 2)
        for attempt in attempts:
            try:
                return Stored(self._apply(operation) or "")
            except sa.exc.IntegrityError:
                if attempt == 1:
                    continue  # the same call saved at this very moment by a retry: read it back
                log.exception("callback operation refused",
                              extra={"operation": type(operation).__name__})
                break
            except Exception as error:
                log.error("database unavailable: callback operation spooled",
                          extra={"operation": type(operation).__name__,
                                 "error": type(error).__name__})
                break
        reference = ""
        spooled = operation
        if isinstance(operation, Save) and caller_told:
            # From the spool the caller hears the request's own number; the replay keeps it
            # with the call, even when the request renews an older one.
            reference = operation.request.reference
            spooled = replace(operation, told=reference)
        try:
            self.spool.append(spooled)
        except OSError as error:
            log.critical("neither the database nor the spool took a callback operation: "
                         "held in memory until one of them does",
                         extra={"operation": type(operation).__name__,
                                "error": error.strerror or type(error).__name__})
            return None
        return Spooled(reference)

    def _hold(self, operation: Operation) -> NotKept:
        with self._held_lock:
            if len(self._held) >= self.hold_limit:
                log.critical("callback operation lost: the database, the spool and this "
                             "process's memory are all full",
                             extra={"operation": type(operation).__name__})
            else:
                self._held.append(operation)
            metrics.set_held(len(self._held))
        return NotKept()

    def flush_held(self) -> bool:
        """Write what this process holds in memory, in order; True when nothing is left."""
        with self._held_lock:
            while self._held:
                if self._deliver(self._held[0], caller_told=False) is None:
                    break
                self._held.popleft()
            metrics.set_held(len(self._held))
            if not self._held:
                return True
        return False

    def close(self) -> None:
        """At the process's end: one last try for what it holds; anything left is lost."""
        self.stop()
        if self._held and not self.flush_held():
            log.critical("callback operations lost with this process",
                         extra={"operations": len(self._held)})

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
                if self._held:
                    self.flush_held()
                if self.spool.waiting():
                    replayed = self.replay()
                    log.warning("spool replayed into the database", extra={"operations": replayed})
                if rounds % SWEEP_EVERY == 0:
                    self.sweep_drafts(datetime.now(UTC))
            except Exception as error:
                log.info("spool waits for the database", extra={"error": type(error).__name__})
