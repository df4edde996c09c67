"""The webhooks of an operator's call back, placed from the operators' page: the operator's
leg, and the caller's leg it dials. The request is found by the attempt's id: no number is
in any URL."""

from __future__ import annotations

from flask import Blueprint, Response, request

from ivr import paths
from ivr.call_log.journal import note_status
from ivr.menu.plans import Hangup, Plan
from ivr.operators import call_back
from ivr.services import Hotline
from ivr.twilio.webhook_request import CallParams
from ivr.voice.answering import status_webhook, voice_webhook_recovering

bp = Blueprint("call_back", __name__)
METHODS = ["POST"]


def _attempt_id() -> int | None:
    raw = request.args.get("attempt", "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 18 else None


def hang_up(hotline: Hotline, call: CallParams) -> Plan:
    """If anything fails on the operator's leg, end it: nobody is dialled by mistake."""
    return Plan((Hangup(),), "callback-call:error")


@bp.route(paths.CALL_BACK_ANSWER, methods=METHODS)
@voice_webhook_recovering(hang_up)
def answer(hotline: Hotline, call: CallParams) -> Plan:
    return call_back.answered(hotline, _attempt_id())


@bp.route(paths.CALL_BACK_ACCEPT, methods=METHODS)
@voice_webhook_recovering(hang_up)
def accept(hotline: Hotline, call: CallParams) -> Plan:
    return call_back.accepted(hotline, _attempt_id(), call.digits)


@bp.route(paths.CALL_BACK_DIALED, methods=METHODS)
@voice_webhook_recovering(hang_up)
def dialed(hotline: Hotline, call: CallParams) -> Plan:
    """<Dial>'s action: the conversation is over, or the caller did not answer."""
    return call_back.caller_dialed(hotline, _attempt_id(), call.text("DialCallStatus"))


@bp.route(paths.CALL_BACK_STATUS, methods=METHODS)
@status_webhook
def status(hotline: Hotline, call: CallParams) -> Response:
    # Every leg is in the call log: what Twilio keeps of it is deleted from there in time.
    note_status(hotline, call, kind="call_back")
    call_back.operator_progress(hotline, _attempt_id(), call.status)
    return Response(status=204)


@bp.route(paths.CALL_BACK_CALLER_STATUS, methods=METHODS)
@status_webhook
def caller_status(hotline: Hotline, call: CallParams) -> Response:
    note_status(hotline, call, kind="call_back")
    call_back.caller_progress(hotline, _attempt_id(), call.status)
    return Response(status=204)
