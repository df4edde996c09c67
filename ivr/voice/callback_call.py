"""The webhooks of a call back placed from the operators' page: the operator's leg, and the
caller's leg it dials. The request is found by the attempt's id: no number is in any URL."""

from __future__ import annotations

from flask import Blueprint, Response, request
from sqlalchemy.orm import Session

from ivr import paths
from ivr.flow import Where
from ivr.hotline import Hotline
from ivr.operators.web import calling
from ivr.plans import Hangup, Plan
from ivr.voice.webhook import CallParams, signed_only, voice_webhook_at, where_in_url

bp = Blueprint("callback_call", __name__)
METHODS = ["POST"]


def _attempt_id() -> int | None:
    raw = request.args.get("attempt", "")
    return int(raw) if raw.isdigit() and len(raw) < 18 else None


def hang_up(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """If anything fails on the operator's leg, end it: nobody is dialled by mistake."""
    return Plan((Hangup(),), "callback-call:error")


@bp.route(paths.CALLBACK_CALL_ANSWER, methods=METHODS)
@voice_webhook_at(where_in_url, recover=hang_up)
def answer(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    with Session(hotline.engine) as session:
        return calling.answered(session, _attempt_id())


@bp.route(paths.CALLBACK_CALL_ACCEPT, methods=METHODS)
@voice_webhook_at(where_in_url, recover=hang_up)
def accept(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    with Session(hotline.engine) as session:
        return calling.accepted(session, hotline, _attempt_id(), call.digits)


@bp.route(paths.CALLBACK_CALL_DIALED, methods=METHODS)
@voice_webhook_at(where_in_url, recover=hang_up)
def dialed(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """<Dial>'s action: the conversation is over, or the caller did not answer."""
    status = calling.DIAL_STATUS.get(call.params.get("DialCallStatus", ""))
    with Session(hotline.engine) as session, session.begin():
        calling.caller_progress(session, _attempt_id(), status)
    return Plan((Hangup(),), "callback-call:done")


@bp.route(paths.CALLBACK_CALL_STATUS, methods=METHODS)
@signed_only
def status(hotline: Hotline, call: CallParams) -> Response:
    with Session(hotline.engine) as session, session.begin():
        calling.operator_progress(session, _attempt_id(), call.status, hotline.clock.now())
    return Response(status=204)


@bp.route(paths.CALLBACK_CALL_CALLER_STATUS, methods=METHODS)
@signed_only
def caller_status(hotline: Hotline, call: CallParams) -> Response:
    with Session(hotline.engine) as session, session.begin():
        calling.caller_progress(session, _attempt_id(), call.status)
    return Response(status=204)
