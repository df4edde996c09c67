"""The webhooks that take a callback request (main menu 2, and every way past an operator)."""

from __future__ import annotations

import re

from flask import Blueprint, Response, request

from ivr import paths
from ivr.call_log.journal import note_step
from ivr.callback_requests import questions, taking
from ivr.callback_requests.questions import Capture
from ivr.menu.plans import Plan, Target
from ivr.models import utcnow
from ivr.services import Hotline
from ivr.twilio.webhook_request import CallParams
from ivr.voice.answering import followed_at_once, status_webhook, voice_webhook

bp = Blueprint("callback_request", __name__)
METHODS = ["GET", "POST"]
RECORDING_SID = re.compile(r"RE[0-9a-f]{32}")


@bp.route(paths.CALLBACK_REQUEST, methods=METHODS)
@voice_webhook
def begin(hotline: Hotline, call: CallParams) -> Plan:
    capture = taking.capture_in(hotline, request.args)
    plan = taking.begin(hotline, call.call_sid, capture, call.from_number, utcnow())
    return _noted(hotline, call, capture, plan)


@bp.route(paths.CALLBACK_REQUEST_INPUT, methods=METHODS)
@voice_webhook
def answer(hotline: Hotline, call: CallParams) -> Plan:
    capture = taking.capture_in(hotline, request.args)
    if request.args.get("again"):
        # Sent here again after a technical failure: ask, do not take the silence as an answer.
        return _noted(hotline, call, capture, questions.ask(capture, hotline.vault))
    plan = taking.answer(hotline, call.call_sid, capture, call.keys(), call.from_number,
                         utcnow())
    return _noted(hotline, call, capture, plan)


@bp.route(paths.CALLBACK_REQUEST_MESSAGE, methods=METHODS)
@voice_webhook
def message(hotline: Hotline, call: CallParams) -> Plan:
    """After the message (Twilio's <Record> action), or instead of it (nothing recorded)."""
    capture = taking.capture_in(hotline, request.args)
    return _noted(hotline, call, capture, questions.done(capture.lang))


@bp.route(paths.CALLBACK_REQUEST_RECORDING, methods=METHODS)
@status_webhook
def recording(hotline: Hotline, call: CallParams) -> Response:
    """Twilio's recording status callback: the message is ready (or failed)."""
    recording_sid = call.text("RecordingSid", 64)
    if RECORDING_SID.fullmatch(recording_sid):
        taking.message_ready(hotline, call.call_sid, recording_sid, call.text("RecordingStatus"),
                             call.integer("RecordingDuration"), utcnow())
    return Response(status=204)


def begun_at_once(hotline: Hotline, call: CallParams, plan: Plan) -> Plan:
    """A menu step that sends the caller to a callback request answers with the request's
    first question itself."""
    def begin_here(to: Target) -> Plan:
        capture = taking.capture_in(hotline, dict(to.params))
        begun = taking.begin(hotline, call.call_sid, capture, call.from_number, utcnow())
        note_step(hotline, call, begun, kind="callback", node=capture.step, followed=True)
        return begun

    return followed_at_once(call, plan, paths.CALLBACK_REQUEST, begin_here)


def _noted(hotline: Hotline, call: CallParams, capture: Capture, plan: Plan) -> Plan:
    # The digits of a typed number are never logged, only that a step was answered.
    note_step(hotline, call, plan, kind="callback", node=capture.step,
              digits=call.digits if capture.step != "enter" else None)
    return plan
