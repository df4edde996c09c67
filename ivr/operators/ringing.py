"""Ringing operators for the callers waiting in a language's queue.

When a caller waits (each time Twilio fetches the queue's wait music), we ring as many free
operators of that language (on duty, available, not in wrap-up: ivr/operators/presence.py)
as there are callers not already being rung for, the longest idle first. An operator's phone
plays the caller's language and waits for a key, so voicemail never takes a call; whoever
accepts is connected to the first caller in the queue.
A row per ring, with one live ring per operator, keeps several instances from ringing the
same person twice. After a conversation the operator is in wrap-up; a ring missed counts
towards pausing them (presence.MISSED says which), an accepted one starts the count again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr import paths
from ivr.database import unit_of_work, upsert
from ivr.menu.plans import Hangup, Plan, target
from ivr.models import ACTIVE_RING, Operator, Ring
from ivr.operators import presence, waiting
from ivr.twilio.rest_api import TwilioApiError

if TYPE_CHECKING:
    from ivr.services import Hotline

log = logging.getLogger(__name__)

# A ring nobody reported on for this long is over (a lost status callback must not keep an
# operator busy for ever).
RING_GRACE = timedelta(seconds=60)
CALL_LIMIT = timedelta(hours=6)
LIVE = sa.text("status IN ('ringing', 'connected')")


def expire_stale(session: Session, now: datetime, ring_seconds: int) -> None:
    stale_ringing = sa.and_(Ring.status == "ringing",
                            Ring.created_at < now - timedelta(seconds=ring_seconds) - RING_GRACE)
    stale_call = sa.and_(Ring.status == "connected", Ring.created_at < now - CALL_LIMIT)
    session.execute(sa.update(Ring).where(sa.or_(stale_ringing, stale_call))
                    .values(status="ended", outcome="lost", ended_at=now))


def operators_to_ring(session: Session, language: str, waiting: int,
                      now: datetime) -> list[Operator]:
    """Free operators of the language, longest idle first, one per caller not yet rung for."""
    ringing = session.scalar(sa.select(sa.func.count()).select_from(Ring).where(
        Ring.language == language, Ring.status == "ringing")) or 0
    free = presence.ringable(session, language, now)
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
    with unit_of_work(hotline.engine) as session:
        expire_stale(session, now, ring_seconds)
        rings = [(ring_id, hotline.vault.decrypt(operator.phone_number))
                 for operator in operators_to_ring(session, language, waiting, now)
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
        with unit_of_work(hotline.engine) as session:
            ring = session.get_one(Ring, ring_id)
            if call_sid is None:
                end(ring, "failed", now)
            else:
                ring.call_sid = call_sid
    return len(rings)


def operator_answered(hotline: Hotline, ring_id: int | None) -> Plan:
    """The operator picked up: tell them the caller's language; a key takes the call."""
    with unit_of_work(hotline.engine) as session:
        ring = session.get(Ring, ring_id) if ring_id is not None else None
        if ring is None or ring.status != "ringing":
            return waiting.no_caller(ring.language if ring else hotline.menu.default_language)
        return waiting.whisper(ring.language, ring.id)


def operator_pressed(hotline: Hotline, ring_id: int | None, digits: str | None) -> Plan:
    """The accept key connects the operator to the first caller waiting; silence (their
    voicemail) or another key skips them."""
    with unit_of_work(hotline.engine) as session:
        ring = session.get(Ring, ring_id) if ring_id is not None else None
        if ring is None or ring.status != "ringing":
            return waiting.not_accepted()
        if digits == waiting.ACCEPT_KEY:
            ring.status, ring.outcome = "connected", "accepted"
            presence.ring_accepted(session, ring.operator_id)
            return waiting.accepted(ring.language, ring.id)
        missed(hotline, session, ring, "not-accepted")
        return waiting.not_accepted()


def conversation_over(hotline: Hotline, ring_id: int | None, talked: bool) -> Plan:
    """The operator's <Dial> ended: after a conversation, or with no caller left to take."""
    with unit_of_work(hotline.engine) as session:
        ring = session.get(Ring, ring_id) if ring_id is not None else None
        lang = ring.language if ring else hotline.menu.default_language
        if ring is not None and talked and ring.status == "connected":
            talked_with(hotline, session, ring)
        elif ring is not None:
            end(ring, "no-caller", hotline.clock.now())
    return Plan((Hangup(),), "operator:done") if talked else waiting.no_caller(lang)


def operator_leg_ended(hotline: Hotline, ring_id: int | None, status: str) -> None:
    """The call we placed to an operator is over (or never rang): they are free again, after
    a wrap-up if they talked with the caller (they hung up before the <Dial> reported)."""
    with unit_of_work(hotline.engine) as session:
        ring = session.get(Ring, ring_id) if ring_id is not None else None
        if ring is None:
            return
        if ring.status == "ringing" and status in presence.MISSED:
            missed(hotline, session, ring, status)
        elif ring.status == "connected" and ring.caller_call_sid is not None:
            talked_with(hotline, session, ring)
        else:
            end(ring, status, hotline.clock.now())


def missed(hotline: Hotline, session: Session, ring: Ring, outcome: str) -> None:
    """A ring the operator did not take: one more towards pausing them."""
    now = hotline.clock.now()
    end(ring, outcome, now)
    presence.ring_missed(session, ring.operator_id, now,
                         hotline.settings.missed_rings_to_pause)


def talked_with(hotline: Hotline, session: Session, ring: Ring) -> None:
    """The conversation is over: the operator is in wrap-up for WRAP_UP_SECONDS."""
    now = hotline.clock.now()
    end(ring, "completed", now)
    presence.start_wrap_up(session, ring.operator_id, now, hotline.settings.wrap_up_seconds)


def link_caller(hotline: Hotline, operator_leg: str, caller_leg: str) -> None:
    """The caller an operator's ring was put through to."""
    with unit_of_work(hotline.engine) as session:
        ring = session.scalar(sa.select(Ring).where(Ring.call_sid == operator_leg))
        if ring is not None:
            ring.caller_call_sid = caller_leg


def end(ring: Ring, outcome: str, now: datetime) -> None:
    if ring.status in ACTIVE_RING:
        ring.status = "ended"
        ring.outcome = ring.outcome or outcome
        ring.ended_at = now


@dataclass(frozen=True)
class PlacedRing:
    """A ring as an engineer trying the line sees it (`ivr call simulate --operator`)."""

    id: int
    language: str
    status: str  # ringing, connected, ended
    outcome: str | None
    call_sid: str | None  # Twilio's, for the operator's leg; None until Twilio gave one
    operator_login: str
    operator_number: str  # encrypted, as stored


def last_ring_id(session: Session) -> int:
    """The newest ring's id (0 if none): the rings placed after it are newer."""
    return int(session.scalar(sa.select(sa.func.max(Ring.id))) or 0)


def rings_after(session: Session, ring_id: int) -> list[PlacedRing]:
    """The rings placed since the ring `ring_id`, the newest first, with whom each rang."""
    rows = session.execute(
        sa.select(Ring, Operator.login, Operator.phone_number)
        .join(Operator, Operator.id == Ring.operator_id)
        .where(Ring.id > ring_id).order_by(Ring.id.desc()))
    return [PlacedRing(ring.id, ring.language, ring.status, ring.outcome, ring.call_sid, login,
                       number) for ring, login, number in rows]
