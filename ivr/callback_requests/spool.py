"""The local spool: callback operations the database could not take, kept on disk until it can.

A caller is told their request is saved only once it is in the database or here, written and
fsync'ed. Each record is sealed with the phone keys (no number in plain text on disk) and
framed on a line of its own, with its length and a checksum:

    \\nivr1 <length> <crc32> <sealed operation>\\n

Records are appended under an exclusive lock; a short write (a full disk) is cut back to where
the record began, and every record starts on a fresh line, so a record torn by a crash never
harms its neighbours: a reader takes every intact record around a damaged one. A replay first
moves the file aside under the lock, so nothing appended during a replay is lost, then
applies each record. Replaying again after a crash repeats operations, which is safe: every
operation is idempotent.

Nothing read from the spool is deleted unread: a record that cannot be replayed (torn, sealed
under a key we no longer have, or refused by the database for good) is copied to
`rejected.log`, which `ivr spool status` reports and `ivr spool replay --rejected` tries again.
"""

from __future__ import annotations

import base64
import fcntl
import fnmatch
import json
import logging
import os
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from ivr.callback_requests.operations import Operation, from_json, to_json
from ivr.phones import PhoneVault

log = logging.getLogger(__name__)

MAGIC = b"ivr1"
LOG_FILE = "spool.log"
REJECTED_FILE = "rejected.log"
REPLAYING = "replaying-*.log"
# Why a record was set aside, in the words `ivr spool status` uses.
TORN = "torn"  # cut short by a crash or a full disk: it was never acknowledged to a caller
UNREADABLE = "unreadable"  # sealed under none of PHONE_ENCRYPTION_KEYS
UNKNOWN = "unknown"  # not an operation this version knows
REFUSED = "refused"  # the database refused it for good
# Operations replayed in one transaction: after an outage the spool holds a few for each call
# taken meanwhile, and one commit each (a flush to disk) made the replay the slowest part of
# the database's return. A group the database refuses is replayed again one at a time.
REPLAY_GROUP = 100

Apply = Callable[[Sequence[Operation]], object]


class Unreadable(Exception):
    """A record that cannot be replayed; the message is why (one of the reasons above)."""


@dataclass(frozen=True)
class Rejected:
    """What `rejected.log` holds: how many records, and why they were set aside."""

    total: int
    reasons: dict[str, int]


def frame(token: bytes) -> bytes:
    return b"\n%s %d %08x %s\n" % (MAGIC, len(token), zlib.crc32(token), token)


def unframe(line: bytes) -> bytes:
    """The sealed token in one line of the spool. A line without a frame is a record of an
    older version (the bare token); Unreadable(TORN) if the frame does not hold together."""
    if not line.startswith(MAGIC + b" "):
        return line.strip()
    parts = line.split(b" ", 3)
    if len(parts) != 4 or not parts[1].isdigit():
        raise Unreadable(TORN)
    _magic, length, checksum, token = parts
    if len(token) != int(length) or f"{zlib.crc32(token):08x}".encode() != checksum:
        raise Unreadable(TORN)
    return token


class Spool:
    def __init__(self, directory: Path, vault: PhoneVault) -> None:
        self.directory = directory
        self.vault = vault
        self.log_path = directory / LOG_FILE
        self.rejected_path = directory / REJECTED_FILE

    def append(self, operation: Operation) -> None:
        """Write one operation durably. Raises OSError if the disk would not take it, and
        then leaves nothing of it behind (or, should even that fail, a torn line that the
        next record does not touch)."""
        sealed = self.vault.seal(json.dumps(to_json(operation), sort_keys=True))
        record = frame(sealed.encode("ascii"))
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock("spool.lock", fcntl.LOCK_EX):
            created = not self.log_path.exists()
            descriptor = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                start = os.fstat(descriptor).st_size
                try:
                    self._write_all(descriptor, record)
                    os.fsync(descriptor)
                except OSError:
                    self._cut_back(descriptor, start)
                    raise
            finally:
                os.close(descriptor)
            if created:
                self._sync_directory()

    @staticmethod
    def _write_all(descriptor: int, data: bytes) -> None:
        written = 0
        while written < len(data):
            written += os.write(descriptor, data[written:])

    @staticmethod
    def _cut_back(descriptor: int, start: int) -> None:
        """After a short write: the file as it was before this record. The lock is ours, so
        nobody else has written since."""
        try:
            os.ftruncate(descriptor, start)
            os.fsync(descriptor)
        except OSError:
            log.warning("spool: a torn record could not be cut back; it is skipped on replay")

    def holds_any(self) -> bool:
        """Whether anything waits to be replayed; cheap (no file is read). A spool that
        cannot be looked at holds nothing we could replay first: False, so that the database
        is tried."""
        try:
            if self.log_path.stat().st_size:
                return True
        except FileNotFoundError:
            pass
        except OSError as error:
            log.warning("spool cannot be read; the database is tried first",
                        extra={"error": error.strerror})
            return False
        try:
            # os.scandir, not Path.glob: this runs before every callback operation, and a
            # glob cost more than the operation's own statements.
            with os.scandir(self.directory) as entries:
                return any(fnmatch.fnmatchcase(entry.name, REPLAYING) for entry in entries)
        except OSError:
            return False

    def waiting(self) -> int:
        """How many records wait to be replayed (torn ones included)."""
        return sum(1 for path in self._files() for line in path.read_bytes().split(b"\n")
                   if line.strip())

    def rejected(self) -> Rejected:
        """What has been set aside, and why."""
        if not self.rejected_path.exists():
            return Rejected(0, {})
        reasons = Counter(line.split(b" ", 2)[1].decode("ascii", errors="replace")
                          for line in self.rejected_path.read_bytes().split(b"\n")
                          if line.count(b" ") >= 2)
        return Rejected(sum(reasons.values()), dict(reasons))

    def problem(self) -> str | None:
        """Why this spool could not take a record now, or None when it could: the folder is
        made if missing, and a probe file written and removed."""
        probe = self.directory / f".probe-{os.getpid()}"
        if self.directory.exists() and not self.directory.is_dir():
            return "is not a directory"
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(descriptor, b"\n")
            finally:
                os.close(descriptor)
                probe.unlink(missing_ok=True)
        except OSError as error:
            return f"cannot be written ({error.strerror or type(error).__name__})"
        return None

    def replay(self, apply: Apply,
               permanent: Callable[[Exception], bool]) -> int:
        """Apply every waiting operation in order; returns how many were applied.

        Stops at the first error `permanent` calls passing (the database is still away) and
        leaves the rest for next time. A record that cannot be replayed is copied to
        `rejected.log`, with an error in the log, so it cannot block the others.
        """
        if not self.directory.exists():
            return 0
        applied = 0
        with self._lock("replay.lock", fcntl.LOCK_EX | fcntl.LOCK_NB) as locked:
            if not locked:
                return 0  # another process is replaying
            self._set_aside(self.log_path)
            for path in sorted(self.directory.glob(REPLAYING)):
                applied += self._replay_file(path, apply, permanent)
                path.unlink()
                self._sync_directory()
        return applied

    def replay_rejected(self, apply: Apply,
                        permanent: Callable[[Exception], bool]) -> int:
        """Try the records set aside once more (after a key was put back, say); those that
        still cannot be replayed are set aside again."""
        with self._lock("replay.lock", fcntl.LOCK_EX) as _locked:
            if not self.rejected_path.exists():
                return 0
            aside = self.directory / f"retrying-{time.time_ns()}.log"
            self.rejected_path.rename(aside)
            self._sync_directory()
            lines = [base64.b64decode(line.split(b" ", 2)[2], validate=False)
                     for line in aside.read_bytes().split(b"\n") if line.count(b" ") >= 2]
            applied = self._replay_lines(aside.name, lines, apply, permanent)
            aside.unlink()
            self._sync_directory()
        return applied

    def _replay_file(self, path: Path, apply: Apply,
                     permanent: Callable[[Exception], bool]) -> int:
        return self._replay_lines(path.name, path.read_bytes().split(b"\n"), apply, permanent)

    def _replay_lines(self, source: str, lines: list[bytes],
                      apply: Apply,
                      permanent: Callable[[Exception], bool]) -> int:
        applied = 0
        group: list[tuple[bytes, Operation]] = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                group.append((line, self._open(line)))
            except Unreadable as reason:
                log.error("spool: a record that cannot be replayed was set aside",
                          extra={"spool_file": source, "record": number, "reason": str(reason)})
                self._reject(line, str(reason))
                continue
            if len(group) == REPLAY_GROUP:
                applied += self._replay_group(group, apply, permanent)
                group = []
        return applied + (self._replay_group(group, apply, permanent) if group else 0)

    def _replay_group(self, group: list[tuple[bytes, Operation]], apply: Apply,
                      permanent: Callable[[Exception], bool]) -> int:
        """Apply a group in one transaction; if the database refuses it, apply its operations
        one at a time and set aside only those it refuses. Raises when the database is away
        (what was applied is applied again next time: every operation is idempotent)."""
        try:
            apply([operation for _line, operation in group])
            return len(group)
        except Exception as error:
            if not permanent(error):
                raise
        applied = 0
        for line, operation in group:
            try:
                apply([operation])
            except Exception as error:
                if not permanent(error):
                    raise
                log.error("spool: operation refused by the database, set aside",
                          extra={"operation": type(operation).__name__}, exc_info=error)
                self._reject(line, REFUSED)
                continue
            applied += 1
        return applied

    def _open(self, line: bytes) -> Operation:
        text = self.vault.unseal(unframe(line).decode("ascii", errors="replace"))
        if text is None:
            raise Unreadable(UNREADABLE if line.startswith(MAGIC) else TORN + " or " + UNREADABLE)
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            return from_json(data)
        except ValueError:
            raise Unreadable(UNKNOWN) from None

    def _set_aside(self, path: Path) -> None:
        with self._lock("spool.lock", fcntl.LOCK_EX):
            if path.exists() and path.stat().st_size:
                path.rename(self.directory / f"replaying-{time.time_ns()}.log")
                self._sync_directory()

    def _reject(self, line: bytes, reason: str) -> None:
        """Keep the record as it was (still sealed), with why and when; fsync'ed before the
        file it came from may go."""
        at = datetime.now(UTC).isoformat(timespec="seconds").encode()
        entry = b"%s %s %s\n" % (at, reason.replace(" ", "-").encode(),
                                 base64.b64encode(line))
        descriptor = os.open(self.rejected_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            self._write_all(descriptor, entry)
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def _files(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return [path for path in [*self.directory.glob(REPLAYING), self.log_path]
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
