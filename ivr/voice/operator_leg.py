"""The webhooks of an operator's phone, rung because a caller of their language is waiting:
they pick up, press the key that takes the call, talk, and the leg ends."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ivr import paths
from ivr.call_log.journal import note_status, note_step
from ivr.menu.plans import Hangup, Plan
from ivr.operators import ringing
from ivr.services import Hotline
from ivr.twilio.webhook_request import CallParams
from ivr.voice.answering import status_webhook, voice_webhook_recovering

bp = Blueprint("operator_leg", __name__)
METHODS = ["GET", "POST"]


def hang_up(hotline: Hotline, call: CallParams) -> Plan:
    """If something fails on an operator's phone, end that leg; the caller waits on."""
    return Plan((Hangup(),), "operator:error")


def _ring_id() -> int | None:
    raw = request.args.get("ring", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 18 else None


@bp.route(paths.OPERATOR_ANSWER, methods=METHODS)
@voice_webhook_recovering(hang_up)
def operator_answer(hotline: Hotline, call: CallParams) -> Plan:
    """The operator picked up: tell them the caller's language; a key takes the call."""
    plan = ringing.operator_answered(hotline, _ring_id())
    note_step(hotline, call, plan, kind="operator", node="whisper", first=True)
    return plan


@bp.route(paths.OPERATOR_ACCEPT, methods=METHODS)
@voice_webhook_recovering(hang_up)
def operator_accept(hotline: Hotline, call: CallParams) -> Plan:
    plan = ringing.operator_pressed(hotline, _ring_id(), call.digits)
    note_step(hotline, call, plan, kind="operator", node="accept", digits=call.digits)
    return plan


@bp.route(paths.OPERATOR_DONE, methods=METHODS)
@voice_webhook_recovering(hang_up)
def operator_done(hotline: Hotline, call: CallParams) -> Plan:
    """<Dial>'s action on the operator's leg: the conversation ended, or nobody was left."""
    talked = call.params.get("DialCallStatus") in ("completed", "answered")
    plan = ringing.conversation_over(hotline, _ring_id(), talked)
    note_step(hotline, call, plan, kind="operator", node="done")
    return plan


@bp.route(paths.OPERATOR_STATUS, methods=METHODS)
@status_webhook
def operator_status(hotline: Hotline, call: CallParams) -> Response:
    """The status callback of a call we placed to an operator."""
    if note_status(hotline, call, kind="operator") and call.status is not None:
        ringing.operator_leg_ended(hotline, _ring_id(), call.status)
    return Response(status=204)
