"""Writing a call's story to the call log: each step a webhook took, and each status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from ivr.call_log.entries import (
    CallSeen,
    Entry,
    Event,
    LanguageChosen,
    ParentKnown,
    StatusReported,
)
from ivr.menu.plans import Plan
from ivr.models import utcnow
from ivr.twilio.call_status import ended
from ivr.twilio.webhook_request import CallParams

if TYPE_CHECKING:
    from ivr.services import Hotline


def note_step(hotline: Hotline, call: CallParams, plan: Plan, *, kind: str, node: str | None,
              digits: str | None = None, outcome: str | None = None,
              first: bool = False, followed: bool = False) -> None:
    """One webhook of a call: where the caller was, what they pressed, what we decided.

    `first`: the leg's first webhook, which files its numbers (the status callbacks do too);
    later steps name the leg without them, which spares a parse and two encryptions a step.
    `followed`: a further step answered by the same webhook (a redirect we followed
    ourselves), filed apart from the first when Twilio retries the webhook.
    """
    if call.call_sid is None:
        return  # not a call we can file anything under; the caller is still answered
    at = utcnow()
    entries: list[Entry] = [call_seen(call, at)] if first else []
    if plan.language is not None and plan.language != call.url_language:
        # The language was chosen (or changed) at this step. The steps of one call are
        # written by whichever processes answered them, in any order: the leg is named too,
        # so that it exists before its language is set.
        if not first:
            entries.append(call_seen(call, at, status=call.status or "in-progress",
                                     numbers=False))
        entries.append(LanguageChosen(call.call_sid, plan.language))
    entries.append(Event(call.call_sid, call.parent_call_sid, kind, at, node=node, digits=digits,
                         status=call.status, outcome=(outcome or plan.outcome)[:64],
                         dedupe_key=_followed_key(call.idempotency_token, kind) if followed
                         else call.idempotency_token))
    hotline.call_log.record(*entries)


def note_status(hotline: Hotline, call: CallParams, kind: str = "status") -> bool:
    """A status callback; True when it says the call has ended. Replays change nothing."""
    if call.call_sid is None or call.status is None:
        return False
    at = _timestamp(call.params.get("Timestamp", "")) or utcnow()
    duration = call.integer("CallDuration")
    sequence = call.integer("SequenceNumber")
    over = ended(call.status)
    started = at - timedelta(seconds=duration) if over and duration else at
    hotline.call_log.record(
        # A leg first heard of here starts below any status, so the report below applies.
        call_seen(call, started, status="queued"),
        StatusReported(call.call_sid, call.status, duration, at),
        Event(call.call_sid, call.parent_call_sid, kind, at, status=call.status,
              sequence_number=sequence,
              dedupe_key=f"status:{sequence if sequence is not None else call.status}"),
    )
    return over


def note_bridge(hotline: Hotline, operator_leg: str, caller_leg: str) -> None:
    """An operator's leg was put through to a waiting caller: it is now that call's child."""
    at = utcnow()
    hotline.call_log.record(
        CallSeen(operator_leg, caller_leg, "outbound-api", None, None, "in-progress", at),
        ParentKnown(operator_leg, caller_leg),
        Event(operator_leg, caller_leg, "bridge", at, outcome="connected to caller"))


def call_seen(call: CallParams, started_at: datetime, status: str | None = None,
              numbers: bool = True) -> CallSeen:
    """The leg as this webhook knows it, its numbers as Twilio sent them (the writer parses
    them); without `numbers`, they are left for the webhooks that file them."""
    assert call.call_sid is not None
    return CallSeen(call.call_sid, call.parent_call_sid, call.direction,
                    call.sent_from if numbers else None, call.sent_to if numbers else None,
                    status or call.status or "ringing", started_at)


def _followed_key(token: str | None, kind: str) -> str | None:
    return None if token is None else f"{token[:64]}:{kind[:15]}"


def _timestamp(raw: str) -> datetime | None:
    """Twilio's RFC 2822 `Timestamp`, or None when it is missing or unreadable."""
    if not raw:
        return None
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
