"""The audit log: every sign-in, claim, reveal, outcome and export, written once.

Nothing on the page changes or deletes an entry; supervisors can only read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.database import page_within
from ivr.models import AuditEntry

ACTIONS = ("login", "login_failed", "logout", "claim", "release", "reveal", "play", "call",
           "notes", "outcome", "export", "duty", "surge", "account", "block", "unblock",
           "dismiss_flag", "second_factor")


@dataclass(frozen=True)
class Actor:
    """Who changes something, as the audit log names them: a person signed in to the page
    (from an address), or an engineer at the command line."""

    login: str
    operator_id: int | None = None
    address: str | None = None


CLI = Actor("cli")


def record_by(session: Session, actor: Actor, at: datetime, action: str, *,
              request_id: int | None = None, detail: str | None = None) -> None:
    record(session, at, action, login=actor.login, operator_id=actor.operator_id,
           request_id=request_id, detail=detail, address=actor.address)


def record(session: Session, at: datetime, action: str, *, login: str,
           operator_id: int | None = None, request_id: int | None = None,
           detail: str | None = None, address: str | None = None) -> None:
    assert action in ACTIONS
    session.add(AuditEntry(at=at, operator_id=operator_id, login=login[:64], action=action,
                           request_id=request_id, detail=(detail or None) and detail[:200],
                           address=(address or None) and address[:64]))


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    page: int
    pages: int


def entries(session: Session, page: int, action: str | None = None,
            page_size: int = 100) -> AuditPage:
    query = sa.select(AuditEntry)
    count = sa.select(sa.func.count()).select_from(AuditEntry)
    if action is not None:
        query = query.where(AuditEntry.action == action)
        count = count.where(AuditEntry.action == action)
    total = session.scalar(count) or 0
    page, pages = page_within(page, total, page_size)
    rows = session.scalars(query.order_by(AuditEntry.id.desc())
                           .limit(page_size).offset((page - 1) * page_size))
    return AuditPage(list(rows), page, pages)


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
