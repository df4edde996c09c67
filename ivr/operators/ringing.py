"""Ringing operators for the callers waiting in a language's queue.

When a caller waits (each time Twilio fetches the queue's wait music), we ring as many free,
on-duty operators of that language as there are callers not already being rung for, the
longest idle first. An operator's phone plays the caller's language and waits for a key, so
voicemail never takes a call; whoever accepts is connected to the first caller in the queue.
A row per ring, with one live ring per operator, keeps several instances from ringing the
same person twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr import paths
from ivr.database import upsert
from ivr.models import ACTIVE_RING, Operator, Ring
from ivr.operators.desk import on_duty
from ivr.plans import target
from ivr.twilio_api import TwilioApiError

if TYPE_CHECKING:
    from ivr.hotline import Hotline

log = logging.getLogger(__name__)

# A ring nobody reported on for this long is over (a lost status callback must not keep an
# operator busy for ever).
RING_GRACE = timedelta(seconds=60)
CALL_LIMIT = timedelta(hours=6)
LIVE = sa.text("status IN ('ringing', 'connected')")


def queue_name(language: str) -> str:
    return f"hotline-{language}"


def expire_stale(session: Session, now: datetime, ring_seconds: int) -> None:
    stale_ringing = sa.and_(Ring.status == "ringing",
                            Ring.created_at < now - timedelta(seconds=ring_seconds) - RING_GRACE)
    stale_call = sa.and_(Ring.status == "connected", Ring.created_at < now - CALL_LIMIT)
    session.execute(sa.update(Ring).where(sa.or_(stale_ringing, stale_call))
                    .values(status="ended", outcome="lost", ended_at=now))


def operators_to_ring(session: Session, language: str, waiting: int) -> list[Operator]:
    """Free operators of the language, longest idle first, one per caller not yet rung for."""
    ringing = session.scalar(sa.select(sa.func.count()).select_from(Ring).where(
        Ring.language == language, Ring.status == "ringing")) or 0
    busy = set(session.scalars(sa.select(Ring.operator_id).where(Ring.status.in_(ACTIVE_RING))))
    free = [operator for operator in on_duty(session, language) if operator.id not in busy]
    free.sort(key=lambda operator: (operator.last_rung_at is not None, operator.last_rung_at))
    return free[:max(waiting - ringing, 0)]


def claim(session: Session, operator: Operator, language: str, now: datetime) -> int | None:
    """A live ring for the operator (its id), or None if another instance got there first."""
    ring_id = session.scalar(
        upsert(session.connection(), Ring.__table__)
        .values(operator_id=operator.id, language=language, status="ringing", created_at=now)
        .on_conflict_do_nothing(index_elements=["operator_id"], index_where=LIVE)
        .returning(Ring.__table__.c.id))
    if ring_id is None:
        return None
    operator.last_rung_at = now
    return int(ring_id)


def ring_for_waiting(hotline: Hotline, language: str, waiting: int, base: str) -> int:
    """Ring operators for the callers waiting in `language`; returns how many were rung."""
    settings = hotline.settings
    if settings.hotline_number is None:
        return 0
    now = hotline.clock.now()
    ring_seconds = hotline.menu.desk.ring_seconds
    with Session(hotline.engine) as session, session.begin():
        expire_stale(session, now, ring_seconds)
        rings = [(ring_id, hotline.vault.decrypt(operator.phone_number))
                 for operator in operators_to_ring(session, language, waiting)
                 if (ring_id := claim(session, operator, language, now)) is not None]
    for ring_id, phone in rings:
        try:
            call_sid = hotline.twilio.call(
                to=phone, from_=settings.hotline_number,
                url=target(paths.OPERATOR_ANSWER, ring=ring_id).url(base),
                status_callback=target(paths.OPERATOR_STATUS, ring=ring_id).url(base),
                ring_seconds=ring_seconds)
        except TwilioApiError as error:
            log.error("could not ring an operator", extra={"ring": ring_id, "error": str(error)})
            call_sid = None
        with Session(hotline.engine) as session, session.begin():
            ring = session.get_one(Ring, ring_id)
            if call_sid is None:
                end(ring, "failed", now)
            else:
                ring.call_sid = call_sid
    return len(rings)


def end(ring: Ring, outcome: str, now: datetime) -> None:
    if ring.status in ACTIVE_RING:
        ring.status = "ended"
        ring.outcome = ring.outcome or outcome
        ring.ended_at = now
