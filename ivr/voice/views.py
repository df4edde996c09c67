"""The webhooks Twilio calls during a call. Their paths are set in the Twilio console:
keep them as they are."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl, urlsplit

from flask import Blueprint, Response

from ivr import flow
from ivr.calllog import (
    STATUS_RANK,
    TERMINAL_RANK,
    CallSeen,
    Entry,
    Event,
    LanguageChosen,
    StatusReported,
)
from ivr.flow import Where
from ivr.hotline import Hotline
from ivr.phones import mask
from ivr.plans import Plan
from ivr.voice.webhook import CallParams, now, signed_only, voice_webhook, voice_webhook_at

log = logging.getLogger("ivr.voice")
bp = Blueprint("voice", __name__, url_prefix="/voice")
METHODS = ["GET", "POST"]


@bp.route("/incoming", methods=METHODS)
@voice_webhook
def incoming(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    plan = flow.start(hotline.menu, call.calling_code)
    _record(hotline, call, plan, kind="incoming", node=hotline.menu.start, seen=True)
    log.info("call started", extra={"call_sid": call.call_sid, "caller": mask(call.from_number),
                                    "direction": call.direction})
    return plan


@bp.route("/menu", methods=METHODS)
@voice_webhook
def menu(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    plan = flow.enter(hotline.menu, where, call.calling_code)
    _record(hotline, call, plan, kind="menu", node=where.node)
    return plan


@bp.route("/menu/input", methods=METHODS)
@voice_webhook
def menu_input(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    plan = flow.answer(hotline.menu, where, call.digits, call.calling_code)
    _record(hotline, call, plan, kind="input", node=where.node, digits=call.digits)
    return plan


def _failed_step(hotline: Hotline, call: CallParams) -> Where:
    """Where the caller was when the request to `ErrorUrl` failed."""
    return flow.where_from(hotline.menu, _query_of(call.params.get("ErrorUrl", "")))


@bp.route("/fallback", methods=METHODS)
@voice_webhook_at(_failed_step)
def fallback(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    """Twilio's fallback URL: the request to `ErrorUrl` failed (error `ErrorCode`).

    It works without the database, so it can speak for the app when the app cannot.
    """
    plan = flow.recover(hotline.menu, where, call.calling_code)
    error_code = call.params.get("ErrorCode", "")[:8]
    _record(hotline, call, plan, kind="fallback", node=where.node,
            outcome=f"{plan.outcome} {error_code}".strip())
    return plan


@bp.route("/status", methods=METHODS)
@signed_only
def status(hotline: Hotline, call: CallParams) -> Response:
    """The call's status callback. Replays and late arrivals change nothing."""
    if call.call_sid is None or call.status is None:
        return Response(status=204)
    at = _timestamp(call.params.get("Timestamp", "")) or now()
    duration = call.integer("CallDuration")
    sequence = call.integer("SequenceNumber")
    ended = STATUS_RANK[call.status] == TERMINAL_RANK
    started = at - timedelta(seconds=duration) if ended and duration else at
    hotline.call_log.record(
        # A leg first heard of here starts below any status, so the report below applies.
        _seen(call, started, status="queued"),
        StatusReported(call.call_sid, call.status, duration, at),
        Event(call.call_sid, call.parent_call_sid, "status", at, status=call.status,
              sequence_number=sequence,
              dedupe_key=f"status:{sequence if sequence is not None else call.status}"),
    )
    return Response(status=204)


def _record(hotline: Hotline, call: CallParams, plan: Plan, *, kind: str, node: str,
            digits: str | None = None, outcome: str | None = None, seen: bool = False) -> None:
    if call.call_sid is None:
        return  # not a call we can file anything under; the caller is still answered
    at = now()
    entries: list[Entry] = []
    if seen:
        entries.append(_seen(call, at))
    if plan.language is not None:
        entries.append(LanguageChosen(call.call_sid, plan.language))
    entries.append(Event(call.call_sid, call.parent_call_sid, kind, at, node=node, digits=digits,
                         status=call.status, outcome=(outcome or plan.outcome)[:64],
                         dedupe_key=call.idempotency_token))
    hotline.call_log.record(*entries)


def _seen(call: CallParams, started_at: datetime, status: str | None = None) -> CallSeen:
    assert call.call_sid is not None
    return CallSeen(call.call_sid, call.parent_call_sid, call.direction, call.from_number,
                    call.to_number, status or call.status or "ringing", started_at)


def _query_of(url: str) -> dict[str, str]:
    try:
        return dict(parse_qsl(urlsplit(url).query))
    except ValueError:
        return {}


def _timestamp(raw: str) -> datetime | None:
    """Twilio's RFC 2822 `Timestamp`, or None when it is missing or unreadable."""
    if not raw:
        return None
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
