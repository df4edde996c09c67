"""The webhooks Twilio calls during a call. Their paths are set in the Twilio console:
keep them as they are."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, Response, request

from ivr import flow, paths
from ivr.flow import Where
from ivr.hotline import Hotline
from ivr.phones import mask
from ivr.plans import Hangup, Plan, Say
from ivr.voice.journal import note_status, note_step
from ivr.voice.webhook import (
    OPERATOR_LEG,
    CallParams,
    now,
    signed_only,
    step_to_retry,
    voice_webhook,
    voice_webhook_at,
)

log = logging.getLogger("ivr.voice")
bp = Blueprint("voice", __name__)
METHODS = ["GET", "POST"]


@bp.route(paths.INCOMING, methods=METHODS)
@voice_webhook
def incoming(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    plan = flow.start(hotline.menu, call.calling_code)
    note_step(hotline, call, plan, kind="incoming", node=hotline.menu.start, first=True)
    log.info("call started", extra={"call_sid": call.call_sid, "caller": mask(call.from_number),
                                    "direction": call.direction})
    return plan


@bp.route(paths.MENU, methods=METHODS)
@voice_webhook
def menu(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    plan = flow.enter(hotline.menu, where, call.calling_code)
    note_step(hotline, call, plan, kind="menu", node=where.node)
    return plan


@bp.route(paths.MENU_INPUT, methods=METHODS)
@voice_webhook
def menu_input(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    plan = flow.answer(hotline.menu, where, call.digits, call.calling_code)
    note_step(hotline, call, plan, kind="input", node=where.node, digits=call.digits)
    return plan


def _failed_step(hotline: Hotline, call: CallParams) -> Where:
    """Where the caller was when the request to `ErrorUrl` failed."""
    return flow.where_from(hotline.menu, _query_of(call.params.get("ErrorUrl", "")))


@bp.route(paths.FALLBACK, methods=METHODS)
@voice_webhook_at(_failed_step)
def fallback(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """Twilio's fallback URL: the request to `ErrorUrl` failed (error `ErrorCode`).

    It works without the database, so it can speak for the app when the app cannot.
    """
    path, params = _our_path(hotline, call.params.get("ErrorUrl", ""))
    if path in OPERATOR_LEG:
        plan = Plan((Say(where.lang or hotline.menu.default_language, "technical_trouble"),
                     Hangup()), "fallback:operator-leg")
    else:
        plan = flow.recover(hotline.menu, where, call.calling_code, step_to_retry(path, params))
    error_code = call.params.get("ErrorCode", "")[:8]
    note_step(hotline, call, plan, kind="fallback", node=where.node,
            outcome=f"{plan.outcome} {error_code}".strip())
    return plan


@bp.route(paths.STATUS, methods=METHODS)
@signed_only
def status(hotline: Hotline, call: CallParams) -> Response:
    """The call's status callback. Replays and late arrivals change nothing."""
    if note_status(hotline, call) and call.call_sid is not None:
        # Hung up while a callback request was being taken: keep what we had.
        hotline.book.abandon(call.call_sid, now())
    return Response(status=204)


def _our_path(hotline: Hotline, url: str) -> tuple[str, list[tuple[str, str]]]:
    """The path of one of our webhooks in a URL Twilio requested, without the public base's
    path prefix, and its query parameters."""
    try:
        parts = urlsplit(url)
        params = parse_qsl(parts.query)
    except ValueError:
        return "", []
    base = hotline.settings.public_base_url
    prefix = urlsplit(base).path.rstrip("/") if base else request.script_root
    path = parts.path
    return (path[len(prefix):] if prefix and path.startswith(prefix) else path), params


def _query_of(url: str) -> dict[str, str]:
    try:
        return dict(parse_qsl(urlsplit(url).query))
    except ValueError:
        return {}
