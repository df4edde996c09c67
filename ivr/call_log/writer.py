"""The call log's writer: every leg in `calls`, every webhook in `call_events`.

Webhooks hand entries to a writer thread and answer at once; the writer stores them in
batches, a transaction each. A caller's menu never waits on the database, and a database
that is down for a while delays the log instead of breaking calls: the writer keeps what it
holds and tries again. What a hard kill of the process can lose is the last fraction of a
second of log, never a callback request (those are written before the caller is told).
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ivr.call_log.entries import Entry, write_entries
from ivr.database import transaction
from ivr.phones import PhoneVault

log = logging.getLogger(__name__)
# How long the writer waits, idle, before it looks for entries nobody woke it for.
IDLE_LOOK = 1.0


class CallLog:
    """Queues entries in memory and stores them from one background thread per process."""

    # `linger`: how long a batch may gather. Each batch is a transaction of four round trips
    # whatever its size: at 300 calls a second a worker's batches held 23 calls after 0.1 s
    # and cost the writer and PostgreSQL about 40 µs a call more than batches of 75 (as long as
    # the log's lag behind a call, and what a hard kill can lose of it, stays under a second).
    def __init__(self, engine: Engine, vault: PhoneVault, *, batch_size: int = 500,
                 linger: float = 0.25, limit: int = 100_000) -> None:
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
        self._flushing = False  # drain() is waiting: store what is there without lingering
        self._thread: threading.Thread | None = None

    def record(self, *entries: Entry) -> None:
        if self._pid != os.getpid():
            self._start()
        pending = self._pending
        if len(pending) + len(entries) > self.limit:
            self._record_when_full(entries)
            return
        # Every webhook comes through here: the entries are queued without the lock (a
        # deque's append is atomic), and the writer is woken, under the lock, only when it has
        # something to do: the first entries after a pause, or a full batch. Waking it on every
        # webhook costs the webhooks the CPU (and the interpreter lock) of a thread switch
        # each, for nothing. Should two threads queue at once and neither see itself first,
        # the writer, which never waits long while idle, finds their entries anyway.
        pending.extend(entries)
        queued = len(pending)
        if queued == len(entries) or queued >= self.batch_size:
            with self._condition:
                self._condition.notify_all()

    def _record_when_full(self, entries: tuple[Entry, ...]) -> None:
        with self._condition:
            room = self.limit - len(self._pending)
            if room < len(entries):
                self.dropped += len(entries) - max(room, 0)
                log.error("call log full: entries dropped", extra={"dropped": self.dropped})
                entries = entries[:max(room, 0)]
            self._pending.extend(entries)
            self._condition.notify_all()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until everything recorded so far is stored. False if that took too long."""
        deadline = time.monotonic() + timeout
        with self._condition:
            if self._pending:
                self._flushing = True
                self._condition.notify_all()
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
                self._condition.wait(IDLE_LOOK)
            if self._closed:
                return None
            # Let a burst gather into one transaction (record() wakes us for a full batch,
            # drain() and close() at once).
            self._condition.wait_for(
                lambda: self._closed or self._flushing or len(self._pending) >= self.batch_size,
                self.linger)
            if len(self._pending) <= self.batch_size:
                self._flushing = False
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
        with transaction(self.engine) as connection:
            write_entries(connection, self.vault, batch)


def _transient(error: Exception) -> bool:
    """Errors that say nothing about the data (database down, locked, not migrated yet):
    keep the batch and try again later."""
    if not isinstance(error, sa.exc.SQLAlchemyError):
        return False
    if isinstance(error, sa.exc.IntegrityError | sa.exc.DataError):
        return False
    return isinstance(error, sa.exc.DBAPIError) or not isinstance(error, sa.exc.StatementError)
