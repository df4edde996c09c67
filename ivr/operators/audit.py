"""The audit log: every sign-in, claim, reveal, outcome and export, written once.

Nothing on the page changes or deletes an entry; supervisors can only read them. Each entry
carries a SHA-256 hash over the hash of the entry before it and its own fields, so that one
edited, removed or slipped in afterwards (by anyone at the database) breaks the chain from
there on: `ivr audit verify` walks it all, the audit page the latest PAGE_CHECKS entries.
The link to a request is not hashed: purging a request unlinks its entries, by design.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.models import AuditEntry
from ivr.operations.logs import redact

ACTIONS = ("login", "login_failed", "logout", "claim", "release", "reveal", "play", "call",
           "notes", "outcome", "export", "duty", "surge", "account", "block", "unblock",
           "dismiss_flag", "second_factor", "presence", "paused", "decision", "reassign",
           "languages", "chat")


@dataclass(frozen=True)
class Actor:
    """Who changes something, as the audit log names them: a person signed in to the page
    (from an address), or an engineer at the command line."""

    login: str
    operator_id: int | None = None
    address: str | None = None


# The command line when the engineer's system user is not known (see ivr.cli.engineer).
CLI = Actor("cli")


def record_by(session: Session, actor: Actor, at: datetime, action: str, *,
              request_id: int | None = None, detail: str | None = None) -> None:
    record(session, at, action, login=actor.login, operator_id=actor.operator_id,
           request_id=request_id, detail=detail, address=actor.address)


def record(session: Session, at: datetime, action: str, *, login: str,
           operator_id: int | None = None, request_id: int | None = None,
           detail: str | None = None, address: str | None = None) -> None:
    assert action in ACTIONS
    _lock_the_chain(session)
    # A detail may carry what a person typed (a block's reason): never a caller's number.
    detail = redact(detail) if detail else None
    entry = AuditEntry(at=at, operator_id=operator_id, login=login[:64], action=action,
                       request_id=request_id, detail=detail and detail[:200],
                       address=(address or None) and address[:64], hash="")
    session.add(entry)
    # Inserted first, hashed after: on SQLite the insert takes the write lock, so the entry
    # before it is read inside the same write transaction and nobody can append meanwhile.
    session.flush()
    previous = session.scalar(sa.select(AuditEntry.hash).where(AuditEntry.id < entry.id)
                              .order_by(AuditEntry.id.desc()).limit(1))
    entry.hash = link(previous or GENESIS, entry)
    session.flush()


def _lock_the_chain(session: Session) -> None:
    """One appender at a time on PostgreSQL (gunicorn's workers, the CLI), until the
    transaction ends, taken before the insert so that ids follow the chain's order."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(CHAIN_LOCK)))


# The hash "before" the first entry, and the key of the advisory lock ("audit" in ASCII).
GENESIS = "0" * 64
CHAIN_LOCK = 0x6175646974


def link(previous: str, entry: AuditEntry) -> str:
    """The hash of an entry: SHA-256 over the previous entry's hash and this one's fields."""
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
    fields = [entry.id, at.astimezone(UTC).isoformat(timespec="microseconds"),
              entry.operator_id, entry.login, entry.action, entry.detail, entry.address]
    canonical = json.dumps(fields, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(f"{previous}:{canonical}".encode()).hexdigest()


# The audit page checks this many of the latest entries on each view; the command, all.
PAGE_CHECKS = 10_000


@dataclass(frozen=True)
class ChainCheck:
    """What a walk along the chain found: how many entries it checked (of how many there
    are), and the first that does not match, if one does not."""

    checked: int
    total: int
    broken_id: int | None = None
    broken_at: datetime | None = None
    head: str = GENESIS  # the hash of the last entry that matched

    @property
    def intact(self) -> bool:
        return self.broken_id is None

    def __str__(self) -> str:
        if self.broken_at is not None:
            return f"Chain broken at entry #{self.broken_id} ({self.broken_at:%Y-%m-%d %H:%M:%S} " \
                   "UTC): it, or the entry before it, was changed, removed or added afterwards"
        if self.checked < self.total:
            return f"Chain intact over the latest {self.checked} of {self.total} entries"
        return f"Chain intact: {self.checked} entries checked"


def verify(session: Session, latest: int | None = None) -> ChainCheck:
    """Walk the chain, from the start or over the `latest` entries only (anchored on the
    stored hash of the entry before them), up to the first entry that does not match."""
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) or 0
    query = sa.select(AuditEntry).order_by(AuditEntry.id)
    previous = GENESIS
    if latest is not None and total > latest:
        anchor = session.execute(sa.select(AuditEntry.id, AuditEntry.hash)
                                 .order_by(AuditEntry.id.desc()).offset(latest).limit(1)).one()
        query, previous = query.where(AuditEntry.id > anchor.id), anchor.hash
    rows = session.scalars(query.execution_options(yield_per=1000))
    return _walk(rows, previous, total)


def _walk(entries: Iterable[AuditEntry], previous: str, total: int) -> ChainCheck:
    checked = 0
    for entry in entries:
        if entry.hash != link(previous, entry):
            return ChainCheck(checked, total, entry.id, entry.at, previous)
        previous = entry.hash
        checked += 1
    return ChainCheck(checked, total, head=previous)


def failed_sign_ins(since: datetime, login: str | None,
                    address: str | None) -> sa.ScalarSelect[int]:
    """How many sign-ins failed since `since`, for the login and from the address (None:
    any; an address '' is none known), as a subquery for a statement to use."""
    query = sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "login_failed", AuditEntry.at >= since)
    if login is not None:
        query = query.where(AuditEntry.login == login[:64])
    if address is not None:
        query = query.where(AuditEntry.address == address[:64] if address
                            else AuditEntry.address.is_(None))
    return query.scalar_subquery()
