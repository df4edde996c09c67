"""The caller's webhooks on the way to an operator: main menu 1, the queue's wait music, a
key pressed while waiting, leaving the queue, and being put through."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, after_this_request, request

from ivr import paths
from ivr.call_log.journal import note_bridge, note_step
from ivr.callback_requests.taking import (
    keep_caller_while_waiting,
    keep_caller_who_hung_up,
    put_through,
)
from ivr.menu.plans import Plan, Say, Target
from ivr.models import utcnow
from ivr.operators import waiting
from ivr.operators.availability import availability_now
from ivr.operators.ringing import link_caller, ring_for_waiting
from ivr.services import Hotline
from ivr.twilio.webhook_request import CallParams, public_root
from ivr.voice.answering import followed_at_once, voice_webhook, voice_webhook_recovering

log = logging.getLogger("ivr.voice")
bp = Blueprint("queue", __name__)
METHODS = ["GET", "POST"]
SID_LENGTH = 34


def _language(hotline: Hotline) -> str:
    lang = request.args.get("lang", "")
    return lang if lang in hotline.menu.languages else hotline.menu.default_language


def keep_waiting(hotline: Hotline, call: CallParams) -> Plan:
    """If something fails in the queue, the caller hears the music again, not an error."""
    return Plan((Say(_language(hotline), "hold_music"),), "queue:error")


@bp.route(paths.OPERATOR, methods=METHODS)
@voice_webhook
def operator(hotline: Hotline, call: CallParams) -> Plan:
    """Main menu 1: into the queue, or straight to the callback request. Either way the
    caller's number, if known, is kept at once: hanging up during the next prompt still
    leaves a request."""
    return _join(hotline, call, _language(hotline))


def joined_at_once(hotline: Hotline, call: CallParams, plan: Plan) -> Plan:
    """A menu step that sends the caller to an operator answers with the queue (or the way
    past it) itself: a round trip less on the way to a human."""
    def join_here(to: Target) -> Plan:
        lang = to.param("lang") or ""
        return _join(hotline, call, lang if lang in hotline.menu.languages
                     else hotline.menu.default_language, followed=True)

    return followed_at_once(call, plan, paths.OPERATOR, join_here)


def _join(hotline: Hotline, call: CallParams, lang: str, followed: bool = False) -> Plan:
    keep_caller_while_waiting(hotline, call.call_sid, call.from_number, lang, utcnow())
    available = availability_now(hotline, lang)
    if available == "open" and hotline.blocks.crowding(call.from_number, call.call_sid,
                                                       utcnow()):
        available = "surge"  # a flagged number's further call: a request, not a place
    plan = waiting.join(lang, available or "nobody")
    if available == "open":
        _ring_after_answering(hotline, lang, 1)  # the moment the caller joins
    note_step(hotline, call, plan, kind="operator", node="operator", followed=followed)
    return plan


@bp.route(paths.QUEUE_WAIT, methods=METHODS)
@voice_webhook_recovering(keep_waiting)
def queue_wait(hotline: Hotline, call: CallParams) -> Plan:
    """Twilio's waitUrl: fetched on entering the queue and whenever the music ends."""
    lang = _language(hotline)
    now_available = availability_now(hotline, lang)
    plan = waiting.wait(lang, call.integer("QueuePosition"), call.integer("QueueTime") or 0,
                        hotline.menu.desk.max_wait, now_available,
                        call.integer("AvgQueueTime"))
    if plan.outcome == "queue:waiting" and now_available == "open":
        _ring_after_answering(hotline, lang, call.integer("CurrentQueueSize") or 1)
    return plan


def _ring_after_answering(hotline: Hotline, lang: str, waiting_callers: int) -> None:
    """Operators are rung once the caller has their music: the REST calls must not delay it."""
    base = public_root(hotline)

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
@voice_webhook_recovering(keep_waiting)
def queue_key(hotline: Hotline, call: CallParams) -> Plan:
    """A key pressed during the wait music: leave the queue for the callback request."""
    return waiting.leave_queue()


@bp.route(paths.QUEUE_LEFT, methods=METHODS)
@voice_webhook
def queue_left(hotline: Hotline, call: CallParams) -> Plan:
    """<Enqueue>'s action: the caller is out of the queue, one way or another."""
    lang = _language(hotline)
    result = call.text("QueueResult")
    now_available = None if result != "leave" else availability_now(hotline, lang)
    plan = waiting.left(lang, result, call.integer("QueueTime") or 0,
                        hotline.menu.desk.max_wait, now_available)
    if result == "hangup":
        keep_caller_who_hung_up(hotline, call.call_sid, call.from_number, lang, utcnow())
    note_step(hotline, call, plan, kind="queue", node="queue", outcome=plan.outcome)
    return plan


@bp.route(paths.QUEUE_CONNECT, methods=METHODS)
@voice_webhook_recovering(keep_waiting)
def queue_connect(hotline: Hotline, call: CallParams) -> Plan:
    """<Queue url>: on the caller's side, just before they are put through to an operator."""
    plan = waiting.connecting(_language(hotline))
    operator_leg = call.text("DequeingCallSid", 64)
    put_through(hotline, call.call_sid)
    if call.call_sid is not None and len(operator_leg) == SID_LENGTH:
        link_caller(hotline, operator_leg, call.call_sid)
        note_bridge(hotline, operator_leg, call.call_sid)
    note_step(hotline, call, plan, kind="queue", node="connect")
    return plan
