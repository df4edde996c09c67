"""What each operator is doing now, and so who may be rung.

Two things decide whether a person is rung. `on_duty` says they are on the roster for this
shift: a supervisor switches it on the figures page, an engineer with `ivr operators duty`.
Presence says what they are doing now, and they set it themselves on the page: available,
on a break, or signed off (signing out of the page signs them off too). The desk sets one
more, `paused`, when they miss MISSED_RINGS_TO_PAUSE rings in a row; only they end it, by
setting themselves available again.

Rung: active, on duty, available, of the caller's language, not in a live ring or call back,
not holding a chat (the website's or another channel's: ivr/chat/desk.py), and not in
wrap-up (WRAP_UP_SECONDS after each conversation, unless they press "ready").
A caller "can reach an operator" while someone of the language is on duty and available,
even if in a call or in wrap-up: the caller then waits in the queue for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.models import ACTIVE_RING, CallBackAttempt, ChatConversation, Operator, Ring
from ivr.operators import audit
from ivr.operators.audit import Actor

AVAILABLE, BREAK, SIGNED_OFF, PAUSED = "available", "break", "signed_off", "paused"
# What a person may set themselves; the desk alone pauses.
CHOSEN = (AVAILABLE, BREAK, SIGNED_OFF)
SYSTEM = Actor("system")
# Ring outcomes that count as missed: not answered in time, busy, answered but not accepted
# (the key not pressed: voicemail, or a press of another key), hung up during the whisper
# ("completed" while still ringing), or the phone could not be reached (Twilio's "failed"
# status: switched off, out of coverage). Not counted: a ring we could not place ourselves
# (Twilio's REST API refused: `not-placed`), a ring that lost its reports (`lost`), one we
# cancelled, or one accepted with no caller left (`no-caller`, an accepted ring).
MISSED = frozenset({"no-answer", "busy", "not-accepted", "completed", "failed"})
# A call back whose end was never reported (a lost status callback) is over after this.
CALL_BACK_LIMIT = timedelta(hours=2)


class BadPresence(ValueError):
    """Not something a person can set themselves."""


def staffed(session: Session, language: str) -> list[Operator]:
    """On duty and available for the language: in a call or in wrap-up counts (a caller
    queues for them), on a break, paused or signed off does not."""
    operators = session.scalars(sa.select(Operator).where(
        Operator.on_duty.is_(True), Operator.active.is_(True), Operator.presence == AVAILABLE))
    return [operator for operator in operators if language in operator.language_codes]


def in_a_call(session: Session, now: datetime) -> set[int]:
    """Operators with a live ring (ringing or talking) or a call back going on."""
    ringing = session.scalars(sa.select(Ring.operator_id).where(Ring.status.in_(ACTIVE_RING)))
    calling = session.scalars(sa.select(CallBackAttempt.operator_id).where(
        call_back_going_on(now)))
    return set(ringing) | set(calling)


def call_back_going_on(now: datetime) -> sa.ColumnElement[bool]:
    """A call back placed (its operator's leg reported) and not reported over; one whose end
    was lost is over after CALL_BACK_LIMIT."""
    return sa.and_(CallBackAttempt.ended_at.is_(None), CallBackAttempt.operator_status.is_not(None),
                   CallBackAttempt.started_at > now - CALL_BACK_LIMIT)


def in_a_chat(session: Session) -> set[int]:
    """Operators holding a chat now: busy, as in a call."""
    holders = session.scalars(sa.select(ChatConversation.operator_id).where(
        ChatConversation.status == "held").distinct())
    return {operator_id for operator_id in holders if operator_id is not None}


def ringable(session: Session, language: str, now: datetime) -> list[Operator]:
    """Who may be rung for a caller of the language now."""
    busy = in_a_call(session, now) | in_a_chat(session)
    return [operator for operator in staffed(session, language)
            if operator.id not in busy and not wrapping_up(operator, now)]


def wrapping_up(operator: Operator, now: datetime) -> bool:
    return operator.wrap_up_until is not None and operator.wrap_up_until > now


def choose(session: Session, by: Actor, operator_id: int, presence: str,
           now: datetime) -> Operator:
    """The person sets what they are doing now. Available again also ends a wrap-up early
    ("ready") and a pause, and forgets the rings missed before. Audited."""
    if presence not in CHOSEN:
        raise BadPresence(presence)
    operator = session.get_one(Operator, operator_id)
    before = operator.presence
    _set(operator, presence, now)
    if presence == AVAILABLE:
        ended_wrap_up = wrapping_up(operator, now)
        operator.wrap_up_until = None
        operator.missed_rings = 0
        if before == AVAILABLE and ended_wrap_up:
            audit.record_by(session, by, now, "presence", detail="ready (wrap-up ended)")
            return operator
    audit.record_by(session, by, now, "presence", detail=f"{before} -> {presence}")
    return operator


def sign_off(session: Session, operator: Operator, now: datetime) -> None:
    """Signing out of the page, being taken off duty, or disabled: no longer rung."""
    if operator.presence != SIGNED_OFF:
        _set(operator, SIGNED_OFF, now)


def back_on_duty(operator: Operator, now: datetime) -> None:
    """Put on the roster (a supervisor, or `ivr operators duty LOGIN on`): available at once,
    as being put on duty always meant."""
    _set(operator, AVAILABLE, now)
    operator.missed_rings = 0
    operator.wrap_up_until = None


def _set(operator: Operator, presence: str, now: datetime) -> None:
    operator.presence = presence
    operator.presence_at = now


def start_wrap_up(session: Session, operator_id: int, now: datetime, seconds: int) -> None:
    """After a conversation: not rung again for `seconds` (WRAP_UP_SECONDS)."""
    operator = session.get(Operator, operator_id)
    if operator is not None and seconds > 0:
        operator.wrap_up_until = now + timedelta(seconds=seconds)


def ring_accepted(session: Session, operator_id: int) -> None:
    operator = session.get(Operator, operator_id)
    if operator is not None:
        operator.missed_rings = 0


def ring_missed(session: Session, operator_id: int, now: datetime, limit: int) -> None:
    """One more ring missed in a row; at `limit` (MISSED_RINGS_TO_PAUSE, 0: never) the
    person is paused until they set themselves available again. Audited as the system."""
    operator = session.get(Operator, operator_id)
    if operator is None:
        return
    operator.missed_rings += 1
    if limit and operator.missed_rings >= limit and operator.presence == AVAILABLE:
        _set(operator, PAUSED, now)
        audit.record_by(session, SYSTEM, now, "paused",
                        detail=f"{operator.login} after {operator.missed_rings} missed calls")


# What the wallboard and the supervisors see, one word each.
STATES = ("available", "in_call", "in_chat", "wrap_up", "break", "paused", "signed_off")


def may_take_a_chat(operator: Operator) -> bool:
    """Only a person at the desk and available takes a chat (in wrap-up or in a call too:
    they chose to); on a break, paused or signed off, they set themselves available first."""
    return operator.active and operator.on_duty and operator.presence == AVAILABLE


def state_of(operator: Operator, busy: set[int], now: datetime,
             chatting: set[int] | None = None) -> str:
    if not operator.on_duty or operator.presence == SIGNED_OFF:
        return "signed_off"
    if operator.presence in (PAUSED, BREAK):
        return operator.presence
    if operator.id in busy:
        return "in_call"
    if chatting and operator.id in chatting:
        return "in_chat"
    return "wrap_up" if wrapping_up(operator, now) else "available"


def states(session: Session, now: datetime) -> dict[int, str]:
    """What each operator (by id) is doing now, for the supervisors' pages."""
    busy = in_a_call(session, now)
    chatting = in_a_chat(session)
    return {operator.id: state_of(operator, busy, now, chatting)
            for operator in session.scalars(sa.select(Operator))}


@dataclass(frozen=True)
class Mine:
    """What the person's own page says about them."""

    presence: str
    state: str
    on_duty: bool
    wrap_up_until: datetime | None
    missed_rings: int


def mine(session: Session, operator_id: int, now: datetime) -> Mine:
    operator = session.get_one(Operator, operator_id)
    available = operator.presence == AVAILABLE
    busy = in_a_call(session, now) if available else set()
    chatting = in_a_chat(session) if available else set()
    state = state_of(operator, busy, now, chatting)
    return Mine(presence=operator.presence, state=state, on_duty=operator.on_duty,
                wrap_up_until=operator.wrap_up_until if state == "wrap_up" else None,
                missed_rings=operator.missed_rings)
