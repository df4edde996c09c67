"""The webhooks that take a callback request (main menu 2, and every way past an operator)."""

from __future__ import annotations

import re

from flask import Blueprint, Response, request

from ivr import paths, phones
from ivr.callbacks import capture as captures
from ivr.callbacks.capture import Capture, Decision, Finish
from ivr.callbacks.store import NewRequest, new_reference
from ivr.flow import Where
from ivr.hotline import Hotline
from ivr.plans import Plan
from ivr.voice.journal import note_step
from ivr.voice.webhook import CallParams, now, signed_only, voice_webhook

bp = Blueprint("callback", __name__)
METHODS = ["GET", "POST"]
RECORDING_SID = re.compile(r"RE[0-9a-f]{32}")


@bp.route(paths.CALLBACK, methods=METHODS)
@voice_webhook
def begin(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    capture = _capture(hotline)
    decision = captures.begin(capture, call.from_number, hotline.vault)
    return _carry_out(hotline, call, capture, decision)


@bp.route(paths.CALLBACK_INPUT, methods=METHODS)
@voice_webhook
def answer(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    capture = _capture(hotline)
    # Only a typed number needs them: a number without its country code is read as the
    # caller's country's, or the hotline's.
    regions = () if capture.step != "enter" else tuple(
        region for region in (phones.region_of(call.from_number),
                              phones.region_of(hotline.settings.hotline_number)) if region)
    decision = captures.answer(capture, _keys(call), regions, hotline.vault)
    return _carry_out(hotline, call, capture, decision)


@bp.route(paths.CALLBACK_MESSAGE, methods=METHODS)
@voice_webhook
def message(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """After the message (Twilio's <Record> action), or instead of it (nothing recorded)."""
    capture = _capture(hotline)
    return _carry_out(hotline, call, capture, Finish(capture))


@bp.route(paths.CALLBACK_RECORDING, methods=METHODS)
@signed_only
def recording(hotline: Hotline, call: CallParams) -> Response:
    """Twilio's recording status callback: the message is ready (or failed)."""
    recording_sid = call.params.get("RecordingSid", "")
    status = call.params.get("RecordingStatus", "")
    if call.call_sid and RECORDING_SID.fullmatch(recording_sid) and status in (
            "completed", "failed", "absent"):
        hotline.book.attach_recording(recording_sid, call.call_sid, status,
                                      call.integer("RecordingDuration"), now())
    return Response(status=204)


def _capture(hotline: Hotline) -> Capture:
    return captures.capture_from(hotline.menu, request.args, hotline.vault)


def _keys(call: CallParams) -> str | None:
    """The keys pressed, as typed: a number may be up to 15 digits."""
    digits = "".join(char for char in call.params.get("Digits", "")[:32] if char in "0123456789*#")
    return digits or None


def _carry_out(hotline: Hotline, call: CallParams, capture: Capture, decision: Decision) -> Plan:
    if isinstance(decision, Finish):
        plan = _save(hotline, call, decision.capture)
    else:
        plan = decision.plan
        if call.call_sid is not None and decision.keep is not None:
            draft = _request(call.call_sid, decision.keep, reference="")
            if draft is not None:
                hotline.book.keep_draft(draft)
        if call.call_sid is not None and decision.forget_number:
            hotline.book.drop_draft(call.call_sid)
    # The digits of a typed number are never logged, only that a step was answered.
    note_step(hotline, call, plan, kind="callback", node=capture.step,
              digits=call.digits if capture.step != "enter" else None)
    return plan


def _save(hotline: Hotline, call: CallParams, capture: Capture) -> Plan:
    if capture.number is None:
        return captures.ask(Capture(capture.lang, capture.reason, step="enter"), hotline.vault)
    new = _request(call.call_sid, capture, reference=new_reference()) if call.call_sid else None
    reference = hotline.book.save(new) if new is not None else None
    if reference is None:
        return captures.not_saved(capture.lang)
    return captures.saved(capture.lang, reference)


def _request(call_sid: str, capture: Capture, reference: str) -> NewRequest | None:
    if capture.number is None or capture.source is None:
        return None
    return NewRequest(
        call_sid=call_sid, number=capture.number, source=capture.source,
        confirmed=capture.confirmed, language=capture.lang, reason=capture.reason,
        may_identify=bool(capture.identify), safe_window=capture.window,
        reference=reference, at=now())
