"""Twilio's Debugger webhook (console → Monitor → Alerts): an error such as 11200 or 12100
with our webhooks, the moment it happens."""

from __future__ import annotations

from flask import Blueprint, Response

from ivr import paths
from ivr.services import Hotline
from ivr.twilio import alerts
from ivr.twilio.webhook_request import CallParams
from ivr.voice.answering import status_webhook

bp = Blueprint("debugger", __name__)


@bp.route(paths.DEBUGGER, methods=["POST"])
@status_webhook
def debugger(hotline: Hotline, call: CallParams) -> Response:
    alerts.receive(hotline.engine, dict(call.params.items()), hotline.clock.now())
    return Response(status=204)
