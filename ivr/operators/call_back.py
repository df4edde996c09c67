"""An operator calls a person back with one click: Twilio rings the operator's phone first
and, when they press 1, dials the caller from a number of CALLBACK_CALLER_IDS (the hotline's
published number only when the caller agreed that we name the hotline). Twilio's status
callbacks bring the progress of both legs back to the attempt, for the page to show.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr import paths, phones
from ivr.database import unit_of_work
from ivr.menu.plans import Ask, DialNumber, Hangup, Plan, Say, target
from ivr.models import CallBackAttempt, CallbackRequest, Operator
from ivr.operators import audit, claims, presence, retries
from ivr.operators.identity import Staff
from ivr.settings import Settings
from ivr.twilio.call_status import ended, moved_forward
from ivr.twilio.rest_api import TwilioApiError

if TYPE_CHECKING:
    from ivr.services import Hotline

log = logging.getLogger(__name__)

RING_SECONDS = 30
ACCEPT_KEY = "1"


class CallInProgress(Exception):
    """There is already a call going on for this request."""


class AskedToWait(Exception):
    """The caller asked us not to call but to wait for their call; the operator has not
    confirmed that they must call anyway."""


class CannotCall(Exception):
    """The call could not be placed; the message says why, without any number."""


class CannotDial(Exception):
    """No call can be placed for this request at all; `reason` is one of CANNOT_DIAL."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Why no call back can be placed, whoever holds the request (checked in this order):
# no HOTLINE_NUMBER to ring the operator from; a number that is not a phone number; no
# number of CALLBACK_CALLER_IDS for the caller's country, where the published one may not
# stand in for it.
CANNOT_DIAL = ("no_hotline_number", "not_dialable", "no_caller_id")


@dataclass(frozen=True)
class ShownNumber:
    """The number a caller's phone shows for our call back: in a phone someone else checks,
    the hotline's published number is evidence that they reached us."""

    number: str
    published: bool  # it is HOTLINE_NUMBER


def shown_number(settings: Settings, caller: str, may_identify: bool) -> ShownNumber | None:
    """The pool's first number for the caller's country code (else its first plain one),
    never the published number unless the caller agreed that we say who we are. With no
    pool, the published number, as before there was one: the page warns the operator. None
    when no call back can show anything: no HOTLINE_NUMBER, or a pool with no number for the
    caller's country where the published number may not stand in
    (CALLBACK_MAY_SHOW_HOTLINE_NUMBER)."""
    if settings.hotline_number is None:
        return None
    hotline = settings.hotline_number
    pool = settings.callback_caller_ids
    country = _country_code(caller)
    candidates = ([number for code, number in pool if code == country]
                  or [number for code, number in pool if code is None])
    if pool and not candidates and not settings.callback_may_show_hotline_number:
        return None
    if may_identify and hotline in candidates:
        return ShownNumber(hotline, published=True)
    neutral = [number for number in candidates if number != hotline]
    if neutral:
        return ShownNumber(neutral[0], published=False)
    return ShownNumber(hotline, published=True)


def cannot_dial(settings: Settings, caller: str, may_identify: bool) -> str | None:
    """Why no call back can reach this caller (one of CANNOT_DIAL), or None if one can."""
    if settings.hotline_number is None:
        return "no_hotline_number"
    if phones.normalise(caller) is None:
        return "not_dialable"
    if shown_number(settings, caller, may_identify) is None:
        return "no_caller_id"
    return None


def _country_code(caller: str) -> int | None:
    try:
        return phonenumbers.parse(caller, None).country_code
    except phonenumbers.NumberParseException:
        return None


def live_attempt(session: Session, request_id: int, now: datetime) -> CallBackAttempt | None:
    return session.scalar(
        sa.select(CallBackAttempt)
        .where(CallBackAttempt.request_id == request_id, presence.call_back_going_on(now))
        .order_by(CallBackAttempt.id.desc()).limit(1))


def latest_call(session: Session, request_id: int) -> CallBackAttempt | None:
    return session.scalar(
        sa.select(CallBackAttempt)
        .where(CallBackAttempt.request_id == request_id,
               CallBackAttempt.operator_status.is_not(None))
        .order_by(CallBackAttempt.id.desc()).limit(1))


def start(session: Session, staff: Staff, request_id: int, now: datetime,
          claim_minutes: int, despite_wait: bool = False) -> tuple[int, str]:
    """A new attempt for a request this person holds: its id and the operator's phone."""
    request = claims.mine(session, staff, request_id, now, claim_minutes)
    if request.safe_window == "wait" and not despite_wait:
        raise AskedToWait
    if live_attempt(session, request.id, now) is not None:
        raise CallInProgress
    operator = session.get_one(Operator, staff.id)
    attempt = CallBackAttempt(request_id=request.id, operator_id=staff.id, started_at=now,
                              operator_status="queued")
    session.add(attempt)
    session.flush()
    audit.record(session, now, "call", login=staff.login, operator_id=staff.id,
                 request_id=request.id)
    return attempt.id, operator.phone_number


def call_now(session: Session, hotline: Hotline, staff: Staff, request_id: int,
             now: datetime, claim_minutes: int, base: str, despite_wait: bool = False) -> None:
    """Start an attempt on a request this person holds and have Twilio ring their phone.

    The attempt is committed before Twilio is asked: Twilio's webhooks for the call find it
    by its id, and may arrive before Twilio has even answered us. CallInProgress, NotYours,
    CannotDial, AskedToWait (unless `despite_wait`) or CannotCall when it cannot be done.
    """
    request = claims.mine(session, staff, request_id, now, claim_minutes)
    reason = cannot_dial(hotline.settings, hotline.vault.decrypt(request.number),
                         request.may_identify)
    if reason is not None:
        raise CannotDial(reason)
    attempt_id, phone = start(session, staff, request_id, now, claim_minutes, despite_wait)
    session.commit()
    place(hotline, attempt_id, phone, base)


def place(hotline: Hotline, attempt_id: int, encrypted_phone: str, base: str) -> None:
    """Ask Twilio to ring the operator; the attempt fails at once if Twilio says no."""
    settings = hotline.settings
    call_sid: str | None = None
    reason = "HOTLINE_NUMBER is not set"
    if settings.hotline_number is not None:
        try:
            call_sid = hotline.twilio.call(
                to=hotline.vault.decrypt(encrypted_phone), from_=settings.hotline_number,
                url=target(paths.CALL_BACK_ANSWER, attempt=attempt_id).url(base),
                status_callback=target(paths.CALL_BACK_STATUS, attempt=attempt_id).url(base),
                ring_seconds=RING_SECONDS)
        except TwilioApiError as error:
            reason = str(error)
    with unit_of_work(hotline.engine) as session:
        attempt = session.get_one(CallBackAttempt, attempt_id)
        if call_sid is None:
            attempt.operator_status, attempt.ended_at = "failed", hotline.clock.now()
        else:
            attempt.call_sid = call_sid
    if call_sid is None:
        log.error("could not place a call back", extra={"attempt": attempt_id, "error": reason})
        raise CannotCall(reason)


def _attempt_and_request(session: Session, attempt_id: int | None
                         ) -> tuple[CallBackAttempt, CallbackRequest] | None:
    attempt = session.get(CallBackAttempt, attempt_id) if attempt_id is not None else None
    if attempt is None:
        return None
    return attempt, session.get_one(CallbackRequest, attempt.request_id)


def answered(hotline: Hotline, attempt_id: int | None) -> Plan:
    """The operator picked up: the caller's language, and a key to press to dial them (so
    that an operator's voicemail never calls anyone)."""
    with unit_of_work(hotline.engine) as session:
        found = _attempt_and_request(session, attempt_id)
        if found is None or found[1].status != "open" or found[0].ended_at is not None:
            return Plan((Hangup(),), "callback-call:gone")
        attempt, request = found
        return Plan((Ask((Say(request.language, "callback_call_whisper"),),
                         target(paths.CALL_BACK_ACCEPT, attempt=attempt.id), timeout=8),),
                    "callback-call:whisper")


def accepted(hotline: Hotline, attempt_id: int | None, digits: str | None) -> Plan:
    """1 dials the caller, showing the number chosen for them; anything else hangs up."""
    with unit_of_work(hotline.engine) as session:
        found = _attempt_and_request(session, attempt_id)
        if found is None or digits != ACCEPT_KEY or found[1].status != "open":
            return Plan((Hangup(),), "callback-call:not-accepted")
        attempt, request = found
        caller = hotline.vault.decrypt(request.number)
        shown = shown_number(hotline.settings, caller, request.may_identify)
        if shown is None:
            return Plan((Hangup(),), "callback-call:not-accepted")
        return Plan((DialNumber(
            number=caller, caller_id=shown.number, timeout=RING_SECONDS,
            action=target(paths.CALL_BACK_DIALED, attempt=attempt.id),
            status_callback=target(paths.CALL_BACK_CALLER_STATUS, attempt=attempt.id)),),
            "callback-call:dialing", private=True)


def operator_progress(hotline: Hotline, attempt_id: int | None, status: str | None) -> None:
    """The operator's leg moved on (a status callback): shown on the page."""
    with unit_of_work(hotline.engine) as session:
        found = _attempt_and_request(session, attempt_id)
        if found is None or status is None:
            return
        attempt = found[0]
        attempt.operator_status = moved_forward(attempt.operator_status, status)
        if ended(attempt.operator_status) and attempt.ended_at is None:
            attempt.ended_at = hotline.clock.now()
            if attempt.operator_status == "completed":  # they picked up: a call was made
                presence.start_wrap_up(session, attempt.operator_id, attempt.ended_at,
                                       hotline.settings.wrap_up_seconds)


def caller_progress(hotline: Hotline, attempt_id: int | None, status: str | None) -> None:
    """The caller's leg moved on: ringing, answered, no answer, busy. Not reached (no
    answer, busy, failed) is the attempt's outcome at once: the request goes back to the
    queue for a later try, as if the operator had recorded "no answer"."""
    with unit_of_work(hotline.engine) as session:
        found = _attempt_and_request(session, attempt_id)
        if found is None or status is None:
            return
        attempt = found[0]
        attempt.caller_status = moved_forward(attempt.caller_status, status)
        if attempt.caller_status in retries.NO_ANSWER_STATUSES:
            session.flush()
            claims.caller_not_reached(session, attempt, hotline.clock.now(), hotline.settings)


def caller_dialed(hotline: Hotline, attempt_id: int | None, dial_status: str) -> Plan:
    """<Dial>'s action: the conversation is over, or the caller did not answer."""
    caller_progress(hotline, attempt_id, DIAL_STATUS.get(dial_status))
    return Plan((Hangup(),), "callback-call:done")


# <Dial>'s DialCallStatus, in the words of a call's status.
DIAL_STATUS = {"answered": "completed", "completed": "completed", "busy": "busy",
               "no-answer": "no-answer", "failed": "failed", "canceled": "canceled"}
