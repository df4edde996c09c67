"""The durable way in for callback requests: the database, or else the spool.

A caller hears "saved" only once their request is in the database or, when the database
cannot take it, written and fsync'ed to this instance's spool, which is replayed into the
database in the background as soon as it can be.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ivr.callback_requests.operations import (
    Abandon,
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
from ivr.database import unit_of_work
from ivr.models import CallbackDraft
from ivr.phones import PhoneVault

log = logging.getLogger(__name__)

# A request still being taken after this long belongs to a call that ended unnoticed.
DRAFT_LIFETIME = timedelta(minutes=15)
REPLAY_EVERY = 5.0  # seconds
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
    """Carries out every operation on callback requests, and replays the spool."""

    def __init__(self, engine: Engine, vault: PhoneVault, spool: Spool) -> None:
        self.engine = engine
        self.vault = vault
        self.spool = spool
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
        self._perform(Abandon(call_sid, at))

    def attach_recording(self, recording: AttachRecording) -> None:
        self._perform(recording)

    def replay(self) -> int:
        """Move what the spool holds into the database; raises if the database is still away."""
        return self.spool.replay(self._apply, permanent)

    def _apply(self, operation: Operation) -> str | None:
        with unit_of_work(self.engine) as session:
            return apply(session.connection(), self.vault, operation)

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
        if isinstance(operation, Save):
            # From the spool the caller hears the request's own number; the replay keeps it
            # with the call, even when the request renews an older one.
            reference = operation.request.reference
            operation = replace(operation, told=reference)
        try:
            self.spool.append(operation)
        except OSError as error:
            log.critical("callback operation lost: neither the database nor the spool took it",
                         extra={"operation": type(operation).__name__, "error": error.strerror})
            return NotKept()
        return Spooled(reference)

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
