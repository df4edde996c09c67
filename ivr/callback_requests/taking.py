"""Taking a callback request during a call: the questions' decisions carried out.

The questions (questions.py) decide what to ask next and what to keep; here what they keep
becomes a draft, a forgotten number or a stored request, through the writer (the database,
or else the spool), and the caller hears "saved" only for a request that was kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from ivr import phones
from ivr.callback_requests import questions
from ivr.callback_requests.operations import AddAnswers, AttachRecording
from ivr.callback_requests.questions import Amend, Capture, Decision, Next, NoNumber, Store
from ivr.callback_requests.store import NewRequest, new_reference
from ivr.callback_requests.writer import NotKept, Spooled, Stored
from ivr.menu.plans import Plan
from ivr.operators.availability import availability_now

if TYPE_CHECKING:
    from ivr.services import Hotline

RECORDING_STATUSES = ("completed", "failed", "absent")


def capture_in(hotline: Hotline, args: Mapping[str, str]) -> Capture:
    """Where the caller is in the request, from our own URL parameters."""
    return questions.capture_from(hotline.menu, args, hotline.vault)


def begin(hotline: Hotline, call_sid: str | None, capture: Capture, caller_id: str | None,
          at: datetime) -> Plan:
    """The first question: confirm the caller ID, or type a number when it is withheld."""
    return carry_out(hotline, call_sid, questions.begin(capture, caller_id, hotline.vault), at)


def answer(hotline: Hotline, call_sid: str | None, capture: Capture, keys: str | None,
           caller_id: str | None, at: datetime) -> Plan:
    """The keys pressed (or none) at the current question."""
    regions = () if capture.step != "enter" else number_regions(hotline, caller_id)
    decision = questions.answer(capture, keys, regions, hotline.vault)
    return carry_out(hotline, call_sid, decision, at)


def number_regions(hotline: Hotline, caller_id: str | None) -> tuple[str, ...]:
    """Where a number typed without its country code may be from, in the order tried: the
    caller's own country, the countries the menu expects callers from, the hotline's."""
    regions = [phones.region_of(caller_id), *phones.regions_of(hotline.menu.caller_countries()),
               phones.region_of(hotline.settings.hotline_number)]
    return tuple(dict.fromkeys(region for region in regions if region))


def carry_out(hotline: Hotline, call_sid: str | None, decision: Decision,
              at: datetime) -> Plan:
    match decision:
        case Store(capture):
            return save(hotline, call_sid, capture, at)
        case Amend(capture, plan):
            if call_sid is not None:
                offset = None if capture.hour is None else questions.utc_offset(capture.hour, at)
                hotline.callback_requests.add_answers(
                    AddAnswers(call_sid, capture.identify, capture.window, at, offset))
            return plan
        case NoNumber(lang):
            return questions.no_number(lang, availability_now(hotline, lang) == "open")
        case Next(plan, keep, forget_number):
            if call_sid is not None and keep is not None:
                draft = new_request(call_sid, keep, reference="", at=at)
                if draft is not None:
                    hotline.callback_requests.keep_draft(draft)
            if call_sid is not None and forget_number:
                hotline.callback_requests.drop_draft(call_sid)
            return plan


def save(hotline: Hotline, call_sid: str | None, capture: Capture, at: datetime) -> Plan:
    """Store the request, then say "saved" with its number; never "saved" for one not kept."""
    if capture.number is None:
        return questions.ask(Capture(capture.lang, capture.reason, step="enter"), hotline.vault)
    request = (new_request(call_sid, capture, reference=new_reference(), at=at)
               if call_sid else None)
    if request is None:
        return questions.not_saved(capture.lang)
    match hotline.callback_requests.save(request):
        case Stored(reference) | Spooled(reference):
            return questions.saved(capture, reference, hotline.vault)
        case NotKept():
            return questions.not_saved(capture.lang)


def keep_caller_while_waiting(hotline: Hotline, call_sid: str | None, caller_id: str | None,
                              lang: str, at: datetime) -> None:
    """A caller on the way to an operator: should they hang up before one answers, even
    during the next prompt, they are called back."""
    if call_sid is not None and caller_id is not None:
        hotline.callback_requests.keep_draft(_by_caller_id(call_sid, caller_id, lang, "", at))


def put_through(hotline: Hotline, call_sid: str | None) -> None:
    """The caller is being put through to an operator: nobody needs to call them back."""
    if call_sid is not None:
        hotline.callback_requests.drop_draft(call_sid)


def keep_caller_who_hung_up(hotline: Hotline, call_sid: str | None, caller_id: str | None,
                            lang: str, at: datetime) -> None:
    """Hung up while waiting for an operator: nobody who reached us is forgotten, if we
    know their number."""
    if call_sid is not None and caller_id is not None:
        hotline.callback_requests.save(
            _by_caller_id(call_sid, caller_id, lang, new_reference(), at))


def _by_caller_id(call_sid: str, caller_id: str, lang: str, reference: str,
                  at: datetime) -> NewRequest:
    """A request from a caller who asked for a human, not for a call back: their caller ID,
    unconfirmed, nothing said about who we may say we are or when."""
    return NewRequest(
        call_sid=call_sid, number=caller_id, source="caller_id", confirmed=False,
        language=lang, reason="queue_hangup", may_identify=False, safe_window=None,
        reference=reference, at=at)


def message_ready(hotline: Hotline, call_sid: str | None, recording_sid: str, status: str,
                  duration: int | None, at: datetime) -> None:
    """Twilio's recording status callback: attach the caller's message to their request."""
    if call_sid is None or status not in RECORDING_STATUSES:
        return
    hotline.callback_requests.attach_recording(
        AttachRecording(recording_sid, call_sid, status, duration, at))


def new_request(call_sid: str, capture: Capture, reference: str,
                at: datetime) -> NewRequest | None:
    if capture.number is None or capture.source is None:
        return None
    return NewRequest(
        call_sid=call_sid, number=capture.number, source=capture.source,
        confirmed=capture.confirmed, language=capture.lang, reason=capture.reason,
        may_identify=bool(capture.identify), safe_window=capture.window,
        reference=reference, at=at)
