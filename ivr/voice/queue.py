"""The webhooks on the way to an operator: the caller's queue, and the operator's phone."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, after_this_request, request
from sqlalchemy.orm import Session

from ivr import paths
from ivr.callbacks.store import NewRequest, new_reference
from ivr.calllog import CallSeen, Event, ParentKnown
from ivr.flow import Where
from ivr.hotline import Hotline
from ivr.models import Ring
from ivr.operators import waiting
from ivr.operators.desk import Availability, availability
from ivr.operators.ringing import end, ring_for_waiting
from ivr.plans import Hangup, Plan, Say
from ivr.voice.journal import note_status, note_step
from ivr.voice.webhook import (
    CallParams,
    now,
    signed_only,
    voice_webhook,
    voice_webhook_at,
    where_in_url,
)

log = logging.getLogger("ivr.voice")
bp = Blueprint("queue", __name__)
METHODS = ["GET", "POST"]
SID_LENGTH = 34


def _language(hotline: Hotline) -> str:
    lang = request.args.get("lang", "")
    return lang if lang in hotline.menu.languages else hotline.menu.default_language


def _availability(hotline: Hotline, lang: str) -> Availability | None:
    """None when the database cannot say: the caller keeps waiting rather than being dropped."""
    try:
        with Session(hotline.engine) as session:
            return availability(session, hotline.menu, lang, hotline.clock.now(),
                                can_ring=hotline.settings.hotline_number is not None)
    except Exception:
        log.exception("could not check who is on duty", extra={"lang": lang})
        return None


def keep_waiting(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """If something fails in the queue, the caller hears the music again, not an error."""
    return Plan((Say(_language(hotline), "hold_music"),), "queue:error")


def hang_up(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """If something fails on an operator's phone, end that leg; the caller waits on."""
    return Plan((Hangup(),), "operator:error")


@bp.route(paths.OPERATOR, methods=METHODS)
@voice_webhook
def operator(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """Main menu 1: into the queue, or straight to the callback request."""
    lang = _language(hotline)
    plan = waiting.join(lang, _availability(hotline, lang) or "nobody")
    note_step(hotline, call, plan, kind="operator", node="operator")
    return plan


@bp.route(paths.QUEUE_WAIT, methods=METHODS)
@voice_webhook_at(where_in_url, recover=keep_waiting)
def queue_wait(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """Twilio's waitUrl: fetched on entering the queue and whenever the music ends."""
    lang = _language(hotline)
    now_available = _availability(hotline, lang)
    plan = waiting.wait(lang, call.integer("QueuePosition"), call.integer("QueueTime") or 0,
                        hotline.menu.desk.max_wait, now_available)
    if plan.outcome == "queue:waiting" and now_available == "open":
        _ring_after_answering(hotline, lang, call.integer("CurrentQueueSize") or 1)
    return plan


def _ring_after_answering(hotline: Hotline, lang: str, waiting_callers: int) -> None:
    """Operators are rung once the caller has their music: the REST calls must not delay it."""
    base = hotline.settings.public_base_url or request.host_url.rstrip("/")

    @after_this_request
    def ring_later(response: Response) -> Response:
        def ring() -> None:
            try:
                ring_for_waiting(hotline, lang, waiting_callers, base)
            except Exception:
                log.exception("ringing operators failed", extra={"lang": lang})

        response.call_on_close(ring)
        return response


@bp.route(paths.QUEUE_KEY, methods=METHODS)
@voice_webhook_at(where_in_url, recover=keep_waiting)
def queue_key(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """A key pressed during the wait music: leave the queue for the callback request."""
    return waiting.leave_queue()


@bp.route(paths.QUEUE_LEFT, methods=METHODS)
@voice_webhook
def queue_left(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """<Enqueue>'s action: the caller is out of the queue, one way or another."""
    lang = _language(hotline)
    result = call.params.get("QueueResult", "")[:32]
    queue_time = call.integer("QueueTime") or 0
    now_available = None if result != "leave" else _availability(hotline, lang)
    plan = waiting.left(lang, result, queue_time, hotline.menu.desk.max_wait, now_available)
    if result == "hangup":
        _keep_abandoned_caller(hotline, call, lang)
    note_step(hotline, call, plan, kind="queue", node="queue", outcome=f"{plan.outcome}")
    return plan


def _keep_abandoned_caller(hotline: Hotline, call: CallParams, lang: str) -> None:
    """Hung up while waiting: nobody who reached us is forgotten, if we know their number."""
    if call.call_sid is None or call.from_number is None:
        return
    hotline.book.save(NewRequest(
        call_sid=call.call_sid, number=call.from_number, source="caller_id", confirmed=False,
        language=lang, reason="abandoned", may_identify=False, safe_window=None,
        reference=new_reference(), at=now()))


@bp.route(paths.QUEUE_CONNECT, methods=METHODS)
@voice_webhook_at(where_in_url, recover=keep_waiting)
def queue_connect(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """<Queue url>: on the caller's side, just before they are put through to an operator."""
    lang = _language(hotline)
    plan = waiting.connecting(lang)
    operator_leg = call.params.get("DequeingCallSid", "")
    if call.call_sid is not None and len(operator_leg) == SID_LENGTH:
        with Session(hotline.engine) as session, session.begin():
            ring = session.query(Ring).filter(Ring.call_sid == operator_leg).one_or_none()
            if ring is not None:
                ring.caller_call_sid = call.call_sid
        hotline.call_log.record(CallSeen(operator_leg, call.call_sid, "outbound-api", None, None,
                                         "in-progress", now()),
                                ParentKnown(operator_leg, call.call_sid),
                                Event(operator_leg, call.call_sid, "bridge", now(),
                                      outcome="connected to caller"))
    note_step(hotline, call, plan, kind="queue", node="connect")
    return plan


def _ring(hotline: Hotline, session: Session) -> Ring | None:
    raw = request.args.get("ring", "")
    return session.get(Ring, int(raw)) if raw.isdigit() and len(raw) < 18 else None


@bp.route(paths.OPERATOR_ANSWER, methods=METHODS)
@voice_webhook_at(where_in_url, recover=hang_up)
def operator_answer(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """The operator picked up: tell them the caller's language; a key takes the call."""
    with Session(hotline.engine) as session:
        ring = _ring(hotline, session)
        if ring is None or ring.status != "ringing":
            plan = waiting.no_caller(ring.language if ring else hotline.menu.default_language)
        else:
            plan = waiting.whisper(ring.language, ring.id)
    note_step(hotline, call, plan, kind="operator", node="whisper", first=True)
    return plan


@bp.route(paths.OPERATOR_ACCEPT, methods=METHODS)
@voice_webhook_at(where_in_url, recover=hang_up)
def operator_accept(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    with Session(hotline.engine) as session, session.begin():
        ring = _ring(hotline, session)
        if ring is None or ring.status != "ringing":
            plan = waiting.not_accepted()
        elif call.digits == waiting.ACCEPT_KEY:
            ring.status, ring.outcome = "connected", "accepted"
            plan = waiting.accepted(ring.language, ring.id)
        else:
            # Silence (voicemail) or another key: skip this operator.
            end(ring, "not-accepted", hotline.clock.now())
            plan = waiting.not_accepted()
    note_step(hotline, call, plan, kind="operator", node="accept", digits=call.digits)
    return plan


@bp.route(paths.OPERATOR_DONE, methods=METHODS)
@voice_webhook_at(where_in_url, recover=hang_up)
def operator_done(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """<Dial>'s action on the operator's leg: the conversation ended, or nobody was left."""
    talked = call.params.get("DialCallStatus") in ("completed", "answered")
    with Session(hotline.engine) as session, session.begin():
        ring = _ring(hotline, session)
        lang = ring.language if ring else hotline.menu.default_language
        if ring is not None:
            end(ring, "completed" if talked else "no-caller", hotline.clock.now())
    plan = Plan((Hangup(),), "operator:done") if talked else waiting.no_caller(lang)
    note_step(hotline, call, plan, kind="operator", node="done")
    return plan


@bp.route(paths.OPERATOR_STATUS, methods=METHODS)
@signed_only
def operator_status(hotline: Hotline, call: CallParams) -> Response:
    """The status callback of a call we placed to an operator."""
    if note_status(hotline, call, kind="operator") and call.status is not None:
        with Session(hotline.engine) as session, session.begin():
            ring = _ring(hotline, session)
            if ring is not None:
                end(ring, call.status, hotline.clock.now())
    return Response(status=204)

