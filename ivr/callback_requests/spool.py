"""The local spool: callback operations the database could not take, kept on disk until it can.

A caller is told their request is saved only once it is in the database or here, written and
fsync'ed. Each record is sealed with the phone keys (no number in plain text on disk), one per
line, appended under a shared lock; a replay first moves the file aside under an exclusive
lock, so nothing appended during a replay is lost, then applies each record. Replaying again
after a crash repeats operations, which is safe: every operation is idempotent.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ivr.callback_requests.operations import Operation, from_json, to_json
from ivr.phones import PhoneVault

log = logging.getLogger(__name__)


class Spool:
    def __init__(self, directory: Path, vault: PhoneVault) -> None:
        self.directory = directory
        self.vault = vault
        self.log_path = directory / "spool.log"

    def append(self, operation: Operation) -> None:
        """Write one operation durably. Raises OSError if the disk would not take it."""
        record = json.dumps(to_json(operation), sort_keys=True)
        line = (self.vault.seal(record) + "\n").encode("ascii")
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock("spool.lock", fcntl.LOCK_SH):
            created = not self.log_path.exists()
            descriptor = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                written = 0
                while written < len(line):
                    written += os.write(descriptor, line[written:])
                os.fsync(descriptor)
            finally:
                os.close(descriptor)
            if created:
                self._sync_directory()

    def holds_any(self) -> bool:
        """Whether anything waits to be replayed; cheap (no file is read)."""
        try:
            if self.log_path.stat().st_size:
                return True
        except FileNotFoundError:
            if not self.directory.exists():
                return False
        return any(True for _ in self.directory.glob("replaying-*.log"))

    def waiting(self) -> int:
        """How many operations wait to be replayed."""
        return sum(len(path.read_bytes().splitlines()) for path in self._files())

    def replay(self, apply: Callable[[Operation], object],
               permanent: Callable[[Exception], bool]) -> int:
        """Apply every waiting operation in order; returns how many were applied.

        Stops at the first error `permanent` calls passing (the database is still away) and
        leaves the rest for next time. An operation refused for good is set aside in a
        `rejected-*.log` file, with an error in the log, so it cannot block the others.
        """
        if not self.directory.exists():
            return 0
        applied = 0
        with self._lock("replay.lock", fcntl.LOCK_EX | fcntl.LOCK_NB) as locked:
            if not locked:
                return 0  # another process is replaying
            self._set_aside_current()
            for path in sorted(self.directory.glob("replaying-*.log")):
                applied += self._replay_file(path, apply, permanent)
                path.unlink()
                self._sync_directory()
        return applied

    def _replay_file(self, path: Path, apply: Callable[[Operation], object],
                     permanent: Callable[[Exception], bool]) -> int:
        applied = 0
        for number, line in enumerate(path.read_bytes().splitlines(), start=1):
            operation = self._open(line)
            if operation is None:
                # A line cut short by a crash was never acknowledged to a caller.
                log.error("spool: unreadable record skipped", extra={"file": path.name,
                                                                      "line": number})
                continue
            try:
                apply(operation)
            except Exception as error:
                if not permanent(error):
                    raise
                log.exception("spool: operation refused by the database, set aside",
                              extra={"operation": type(operation).__name__})
                self._reject(line)
                continue
            applied += 1
        return applied

    def _open(self, line: bytes) -> Operation | None:
        text = self.vault.unseal(line.decode("ascii", errors="replace").strip())
        try:
            data = json.loads(text) if text else None
            return from_json(data) if isinstance(data, dict) else None
        except ValueError:
            return None

    def _set_aside_current(self) -> None:
        with self._lock("spool.lock", fcntl.LOCK_EX):
            if self.log_path.exists() and self.log_path.stat().st_size:
                self.log_path.rename(self.directory / f"replaying-{time.time_ns()}.log")
                self._sync_directory()

    def _reject(self, line: bytes) -> None:
        descriptor = os.open(self.directory / "rejected.log",
                             os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, line + b"\n")
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def _files(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return [path for path in [*self.directory.glob("replaying-*.log"), self.log_path]
                if path.exists()]

    @contextmanager
    def _lock(self, name: str, mode: int) -> Iterator[bool]:
        descriptor = os.open(self.directory / name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(descriptor, mode)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(descriptor)  # closing releases the lock

    def _sync_directory(self) -> None:
        descriptor = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
