"""Everything the request page shows about one request, gathered in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ivr.callback_requests import recordings
from ivr.models import CallBackAttempt, CallbackRequest
from ivr.operators import call_back, claims, retries
from ivr.operators.caller_display import LocalTime, local_time, masked, pretty, waited
from ivr.operators.identity import Staff
from ivr.phones import PhoneVault
from ivr.settings import Settings


@dataclass(frozen=True)
class RequestView:
    request: CallbackRequest
    masked: str
    number: str | None  # in full, only right after an audited reveal
    local: LocalTime
    waited: tuple[int, int, int]
    holder: str | None  # who holds it now
    mine: bool
    history: list[claims.HistoryLine]
    call: CallBackAttempt | None  # the latest call placed from the page
    call_live: bool
    held_until: datetime | None  # when the claim lapses
    state: str  # due, later (its next try is to come), decision (a supervisor's), closed
    message_ours: bool  # we hold our own copy of their message (else it is still at Twilio)
    shown: call_back.ShownNumber | None = None  # what their phone will show for our call
    # Why this person has no button to call back (one of NO_CALL), or None: they have one.
    no_call: str | None = None


# closed and the two of a request not held by this person, then call_back.CANNOT_DIAL.
NO_CALL = ("closed", "not_claimed", "held_by_another", *call_back.CANNOT_DIAL)


def no_call(request: CallbackRequest, mine: bool, holder: str | None, caller: str,
            settings: Settings) -> str | None:
    """Why the page shows no call back button to this person, or None when it shows one."""
    if request.status != "open":
        return "closed"
    if not mine:
        return "held_by_another" if holder else "not_claimed"
    return call_back.cannot_dial(settings, caller, request.may_identify)


def view_of(session: Session, vault: PhoneVault, staff: Staff, request: CallbackRequest,
            now: datetime, claim_minutes: int, revealed: bool = False,
            settings: Settings | None = None) -> RequestView:
    number = vault.decrypt(request.number)
    holding = request.status == "open" and claims.held(request, now, claim_minutes)
    mine = holding and request.claimed_by == staff.id
    latest = call_back.latest_call(session, request.id)
    holder = claims.claimer_name(session, request) if holding else None
    return RequestView(
        request=request, masked=masked(number), number=pretty(number) if revealed else None,
        local=local_time(request.caller_timezone, request.safe_window, now,
                         request.caller_utc_offset),
        waited=waited(request.created_at, now),
        holder=holder, mine=mine,
        history=claims.history(session, vault, request.id), call=latest,
        call_live=latest is not None and latest.ended_at is None,
        held_until=request.claimed_at + timedelta(minutes=claim_minutes)
        if holding and request.claimed_at is not None else None,
        state=retries.state(request, now),
        message_ours=request.recording_sid is not None
        and recordings.is_ours(session, request.recording_sid),
        shown=call_back.shown_number(settings, number, request.may_identify)
        if settings is not None else None,
        no_call=no_call(request, mine, holder, number, settings)
        if settings is not None else None)
