"""The menu's webhooks: a call comes in, each step of the menu, Twilio's fallback URL and the
call's status callback. Their paths are set in the Twilio console: keep them as they are."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, Response, request

from ivr import paths
from ivr.call_log.journal import note_status, note_step
from ivr.menu import journey
from ivr.menu.journey import Where
from ivr.menu.plans import Hangup, Plan, Say
from ivr.models import utcnow
from ivr.phones import masked_caller_id
from ivr.services import Hotline
from ivr.twilio.webhook_request import CallParams
from ivr.voice.answering import (
    OPERATOR_LEG,
    log_with_webhook,
    query_of,
    status_webhook,
    step_to_retry,
    voice_webhook,
    voice_webhook_recovering,
)
from ivr.voice.callback_request import begun_at_once
from ivr.voice.queue import joined_at_once

bp = Blueprint("menu", __name__)
METHODS = ["GET", "POST"]


@bp.route(paths.INCOMING, methods=METHODS)
@voice_webhook
def incoming(hotline: Hotline, call: CallParams) -> Plan:
    # The caller ID as sent: the call log's writer parses it off the caller's time, and the
    # block list only when some number is blocked.
    if hotline.blocks.blocks(call.sent_from, hotline.clock.now()):
        plan = journey.turned_away(hotline.menu, call.calling_code)
    else:
        plan = journey.start(hotline.menu, call.calling_code)
    note_step(hotline, call, plan, kind="incoming", node=hotline.menu.start, first=True)
    log_with_webhook(caller=masked_caller_id(call.sent_from), direction=call.direction)
    return plan


@bp.route(paths.MENU, methods=METHODS)
@voice_webhook
def menu(hotline: Hotline, call: CallParams) -> Plan:
    where = journey.where_from(hotline.menu, request.args)
    plan = journey.enter(hotline.menu, where, call.calling_code)
    note_step(hotline, call, plan, kind="menu", node=where.node)
    return _followed(hotline, call, plan)


@bp.route(paths.MENU_INPUT, methods=METHODS)
@voice_webhook
def menu_input(hotline: Hotline, call: CallParams) -> Plan:
    where = journey.where_from(hotline.menu, request.args)
    plan = journey.answer(hotline.menu, where, call.digits, call.calling_code)
    note_step(hotline, call, plan, kind="input", node=where.node, digits=call.digits)
    return _followed(hotline, call, plan)


def _followed(hotline: Hotline, call: CallParams, plan: Plan) -> Plan:
    """The plan, with a redirect to main menu 1 or 2 followed here rather than by Twilio (and
    past an operator who cannot be reached, on to the callback request)."""
    return begun_at_once(hotline, call, joined_at_once(hotline, call, plan))


def _failed_step(hotline: Hotline, call: CallParams) -> Where:
    """Where the caller was when the request to `ErrorUrl` failed."""
    return journey.where_from(hotline.menu, query_of(call.params.get("ErrorUrl", "")))


def _apologise_at_failed_step(hotline: Hotline, call: CallParams) -> Plan:
    return journey.apologise(hotline.menu, _failed_step(hotline, call), call.calling_code)


@bp.route(paths.FALLBACK, methods=METHODS)
@voice_webhook_recovering(_apologise_at_failed_step)
def fallback(hotline: Hotline, call: CallParams) -> Plan:
    """Twilio's fallback URL: the request to `ErrorUrl` failed (error `ErrorCode`).

    It works without the database, so it can speak for the app when the app cannot.
    """
    where = _failed_step(hotline, call)
    path, params = _our_path(hotline, call.params.get("ErrorUrl", ""))
    if path in OPERATOR_LEG:
        plan = Plan((Say(where.lang or hotline.menu.default_language, "technical_trouble"),
                     Hangup()), "fallback:operator-leg")
    else:
        plan = journey.recover(hotline.menu, where, call.calling_code,
                               step_to_retry(path, params))
    error_code = call.params.get("ErrorCode", "")[:8]
    note_step(hotline, call, plan, kind="fallback", node=where.node,
              outcome=f"{plan.outcome} {error_code}".strip())
    return plan


@bp.route(paths.STATUS, methods=METHODS)
@status_webhook
def status(hotline: Hotline, call: CallParams) -> Response:
    """The call's status callback. Replays and late arrivals change nothing."""
    if note_status(hotline, call) and call.call_sid is not None:
        # Hung up while a callback request was being taken: keep what we had.
        hotline.callback_requests.abandon(call.call_sid, utcnow())
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
