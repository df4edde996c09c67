"""Numbers a supervisor blocked for a time, and bursts of calls from one number flagged for a
supervisor's decision (block, or let be).

A number is kept only by its keyed digest (and a masked form for the page). Every block, unblock
and dismissal is audited. The incoming call's check reads a per-process copy of the blocks in
force, refreshed every few seconds by one query (in the background): a set look-up per call.
If the blocks cannot be read, nobody is blocked: a caller in need must never be turned away by
our fault.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ivr.database import unit_of_work
from ivr.models import BlockedNumber, Call, CallbackRequest, FlagDismissal
from ivr.operators import audit
from ivr.operators.audit import Actor
from ivr.operators.caller_display import masked
from ivr.phones import PhoneVault, normalise

log = logging.getLogger("ivr.blocking")

# How stale the per-process copy of the blocks may be: a block made on another instance
# takes at most this long to reach this one.
REFRESH_SECONDS = 5.0
# The flagged numbers (an aggregate over the window's calls: ~0.1 s of the database's time
# at 70,000 calls an hour) are read with the blocks, but at most this often.
FLAG_REFRESH_SECONDS = 60.0
# The longest block a supervisor can set; a block is meant to be looked at again.
MAX_BLOCK_DAYS = 90
BLOCK_DAYS = (1, 7, 30, 90)


class BlockError(ValueError):
    """A block or unblock the supervisor must be told about."""


class BlockList:
    """The blocks in force, as this process last read them: digest to the end of the block.

    Read at the first call, and at the next call after a change made in this process; else a
    call that finds the copy older than REFRESH_SECONDS uses it as it is and has it read again
    in the background, so that no caller waits on the database for it.
    """

    def __init__(self, engine: Engine, vault: PhoneVault,
                 clock: Callable[[], float] = time.monotonic, *, flag_threshold: int = 10,
                 flag_window: timedelta = timedelta(hours=1)) -> None:
        self._engine = engine
        self._vault = vault
        self._clock = clock
        self._flag_threshold = flag_threshold
        self._flag_window = flag_window
        self._until: Mapping[str, datetime] = {}
        self._flagged: frozenset[str] = frozenset()
        self._next_flag_read = 0.0
        self._next_read = 0.0
        self._read_now = True
        self._reading = threading.Lock()

    def blocks(self, caller_id: str | None, now: datetime) -> bool:
        """Whether a call from this caller ID (as Twilio sent it) is to be turned away now. A
        withheld number never is. The ID is parsed only when some number is blocked: most
        calls come while none is, and a call's first webhook need not parse it otherwise."""
        if caller_id is None:
            return False
        if self._clock() >= self._next_read:
            self._refresh(now)
        if not self._until:
            return False
        e164 = normalise(caller_id)
        until = None if e164 is None else self._until.get(self._vault.digest(e164))
        return until is not None and until > now

    def crowding(self, e164: str | None, call_sid: str | None, now: datetime) -> bool:
        """Whether this call, joining the operators' queue, is from a flagged number (a burst
        of calls) that has another call going on: such a number holds one place at most, and
        its other calls are taken as callback requests (its one open request keeps its place).
        A flagged number with no other call waits like anyone. Fails open."""
        if e164 is None or call_sid is None:
            return False
        digest = self._vault.digest(e164)
        if digest not in self._flagged:
            return False
        try:
            return another_call_going_on(self._engine, digest, call_sid, now)
        except Exception:
            log.warning("could not look for a flagged number's other calls: this one waits",
                        exc_info=True)
            return False

    def forget(self) -> None:
        """Read the blocks (and the flags) again at the next call (one was made or lifted
        here)."""
        self._read_now = True
        self._next_read = 0.0
        self._next_flag_read = 0.0

    def _refresh(self, now: datetime) -> None:
        if not self._reading.acquire(blocking=False):
            return  # being read already; this call uses the copy there is
        if self._read_now:
            self._read_now = False
            self._read(now)
            return
        try:
            threading.Thread(target=self._read, args=(now,), name="ivr-blocks",
                             daemon=True).start()
        except RuntimeError:  # no thread to be had: the copy serves until the next try
            self._next_read = self._clock() + REFRESH_SECONDS
            self._reading.release()

    def _read(self, now: datetime) -> None:
        """Read the blocks in force (the lock is held), failing open."""
        try:
            try:
                self._until = _in_force(self._engine, now)
            except Exception:  # fail open: the database is away or broken
                log.warning("blocked numbers could not be read: nobody is blocked until they "
                            "can", exc_info=True)
                self._until = {}
            if self._clock() < self._next_flag_read:
                return
            self._next_flag_read = self._clock() + FLAG_REFRESH_SECONDS
            try:
                self._flagged = _flagged_now(self._engine, now, self._flag_threshold,
                                             self._flag_window)
            except Exception:
                log.warning("flagged numbers could not be read: their calls wait like any",
                            exc_info=True)
                self._flagged = frozenset()
        finally:
            self._next_read = self._clock() + REFRESH_SECONDS
            self._reading.release()


def _in_force(engine: Engine, now: datetime) -> dict[str, datetime]:
    with unit_of_work(engine) as session:
        rows = session.execute(sa.select(BlockedNumber.number_hash, BlockedNumber.until)
                               .where(BlockedNumber.until > now,
                                      BlockedNumber.lifted_at.is_(None)))
        until: dict[str, datetime] = {}
        for digest, ends in rows:
            until[digest] = max(ends, until.get(digest, ends))
        return until


# A call longer than this is taken as over even if Twilio never said so (a lost status callback).
LONGEST_CALL = timedelta(hours=2)


def another_call_going_on(engine: Engine, digest: str, call_sid: str, now: datetime) -> bool:
    """Whether another inbound call from this number has started and not ended."""
    with unit_of_work(engine) as session:
        return bool(session.scalar(sa.select(sa.exists().where(
            Call.from_number_hash == digest, Call.call_sid != call_sid,
            Call.direction == "inbound", Call.ended_at.is_(None),
            Call.started_at >= now - LONGEST_CALL))))


def _flagged_now(engine: Engine, now: datetime, threshold: int,
                 window: timedelta) -> frozenset[str]:
    """The digests of the numbers flagged now (see `flags`), for the queue's one-place rule."""
    with unit_of_work(engine) as session:
        return frozenset(session.scalars(
            sa.select(_burst(now, threshold, window).subquery().c.from_number_hash)))


def block(session: Session, actor: Actor, now: datetime, digest: str, shown: str, days: int,
          reason: str, request_id: int | None = None) -> BlockedNumber:
    """Block the number with this digest for `days` days, for a reason (audited)."""
    reason = reason.strip()
    if not reason:
        raise BlockError("Give a reason.")
    if not 1 <= days <= MAX_BLOCK_DAYS:
        raise BlockError("Choose how long.")
    row = BlockedNumber(number_hash=digest, masked_number=shown[:32], reason=reason[:200],
                        blocked_by=actor.login[:64], blocked_at=now,
                        until=now + timedelta(days=days))
    session.add(row)
    session.flush()
    audit.record_by(session, actor, now, "block", request_id=request_id,
                    detail=f"block {row.id} {shown} {days}d: {reason}")
    return row


def block_request_caller(session: Session, vault: PhoneVault, actor: Actor, now: datetime,
                         request_id: int, days: int, reason: str) -> BlockedNumber:
    """Block the number of a callback request's caller."""
    row = session.get(CallbackRequest, request_id)
    if row is None:
        raise BlockError("No such request.")
    return block(session, actor, now, row.number_hash, masked(vault.decrypt(row.number)),
                 days, reason, request_id=request_id)


def unblock(session: Session, actor: Actor, now: datetime, block_id: int) -> None:
    """Lift a block before its time (audited)."""
    row = session.get(BlockedNumber, block_id)
    if row is None or row.lifted_at is not None or row.until <= now:
        raise BlockError("This block is no longer in force.")
    row.lifted_at, row.lifted_by = now, actor.login[:64]
    audit.record_by(session, actor, now, "unblock", detail=f"unblock {row.id} {row.masked_number}")


def blocks_in_force(session: Session, now: datetime) -> list[BlockedNumber]:
    return list(session.scalars(sa.select(BlockedNumber)
                                .where(BlockedNumber.until > now,
                                       BlockedNumber.lifted_at.is_(None))
                                .order_by(BlockedNumber.until)))


@dataclass(frozen=True)
class Flag:
    """A number that called us many times in a short while, shown masked."""

    token: str  # the digest and the masked number, sealed: the page holds nothing reusable
    shown: str
    calls: int
    last_call: datetime


def flags(session: Session, vault: PhoneVault, now: datetime, threshold: int,
          window: timedelta) -> list[Flag]:
    """Numbers with at least `threshold` calls in the last `window`, not blocked and not
    let be since (calls before a dismissal do not count)."""
    rows = session.execute(_burst(now, threshold, window)
                           .order_by(sa.func.count().desc()))
    found = []
    for digest, number, count, last in rows:
        if number is None:
            continue
        shown = masked(vault.decrypt(number))
        found.append(Flag(vault.seal(f"{digest} {shown}"), shown, count, last))
    return found


def _burst(now: datetime, threshold: int, window: timedelta) -> Any:
    """Per number with at least `threshold` inbound calls in the last `window`, not blocked
    and not let be since: its digest, a sealed number, the count and the last call."""
    since = now - window
    dismissed = sa.select(FlagDismissal.dismissed_at).where(
        FlagDismissal.number_hash == Call.from_number_hash).scalar_subquery()
    blocked = sa.select(BlockedNumber.id).where(
        BlockedNumber.number_hash == Call.from_number_hash, BlockedNumber.until > now,
        BlockedNumber.lifted_at.is_(None)).exists()
    return (sa.select(Call.from_number_hash, sa.func.max(Call.from_number), sa.func.count(),
                      sa.func.max(Call.started_at))
            .where(Call.direction == "inbound", Call.started_at >= since,
                   Call.from_number_hash.is_not(None),
                   sa.or_(dismissed.is_(None), Call.started_at > dismissed), ~blocked)
            .group_by(Call.from_number_hash)
            .having(sa.func.count() >= threshold))


def flagged(vault: PhoneVault, token: str) -> tuple[str, str]:
    """The digest and masked number a flag's sealed token names."""
    digest, _, shown = (vault.unseal(token) or "").partition(" ")
    if len(digest) != 64 or not shown:
        raise BlockError("This flag is no longer valid.")
    return digest, shown


def dismiss(session: Session, actor: Actor, now: datetime, digest: str, shown: str) -> None:
    """Let a burst be: its calls so far no longer flag the number (audited)."""
    row = session.get(FlagDismissal, digest)
    if row is None:
        session.add(FlagDismissal(number_hash=digest, dismissed_by=actor.login[:64],
                                  dismissed_at=now))
    else:
        row.dismissed_at, row.dismissed_by = now, actor.login[:64]
    audit.record_by(session, actor, now, "dismiss_flag", detail=f"dismiss {shown}")
