"""Taking a callback request, as plain decisions: which number, whether we may say who we are,
when it is safe to call (or not at all: they will call again), the hour where they are when
their number does not tell, an optional message.

The caller's place travels in the URL like the menu's; their number travels sealed (encrypted
and signed with the phone keys), so it never appears in a URL, a proxy log or Twilio's logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from ivr import paths, phones
from ivr.callback_requests.store import REASONS, WINDOWS
from ivr.menu.menu_file import Menu
from ivr.menu.plans import (
    Ask,
    Hangup,
    Plan,
    Record,
    Redirect,
    Say,
    SayDigits,
    Speech,
    Target,
    target,
)

TRIES = 3
STEPS = ("confirm", "enter", "check", "identify", "window", "hour", "message")
WINDOW_KEYS = {"1": "any", "2": "day", "3": "evening", "4": "wait"}


class Sealer(Protocol):
    def seal(self, text: str) -> str: ...
    def unseal(self, token: str) -> str | None: ...


@dataclass(frozen=True)
class Capture:
    lang: str
    reason: str
    step: str = "confirm"
    attempt: int = 1
    number: str | None = None  # E.164
    source: str | None = None  # caller_id or entered
    confirmed: bool = False
    identify: bool | None = None  # may we say who we are if someone else answers
    window: str | None = None  # any, day, evening, wait (do not call: they call again)
    hour: int | None = None  # the hour it is where the caller is, as they told it (0-23)


@dataclass(frozen=True)
class Next:
    """Go on asking. `keep` holds what to keep as a draft once the number is known."""

    plan: Plan
    keep: Capture | None = None
    forget_number: bool = False


@dataclass(frozen=True)
class Store:
    """The number is settled: store the request now, tell the caller it is saved, then ask
    the optional questions (`capture.step` is the first of them)."""

    capture: Capture


@dataclass(frozen=True)
class Amend:
    """An answer to an optional question, added to the request already stored; then `plan`."""

    capture: Capture
    plan: Plan


@dataclass(frozen=True)
class NoNumber:
    """Three tries gave no number we could call: an operator if one is free, else goodbye."""

    lang: str


Decision = Next | Store | Amend | NoNumber


def capture_from(menu: Menu, args: Mapping[str, str], sealer: Sealer) -> Capture:
    """Read the caller's place from our own URL parameters, forgiving anything odd."""
    lang = args.get("lang", "")
    reason = args.get("reason", "")
    step = args.get("step", "")
    number = sealer.unseal(args.get("n", "")) if args.get("n") else None
    if number is not None and phones.normalise(number) != number:
        number = None
    window = args.get("win")
    return Capture(
        lang=lang if lang in menu.languages else menu.default_language,
        reason=reason if reason in REASONS else "chosen",
        step=step if step in STEPS else "confirm",
        attempt=_whole(args.get("try"), TRIES),
        number=number,
        source=args.get("src") if args.get("src") in ("caller_id", "entered") else None,
        confirmed=args.get("ok") == "1",
        identify={"1": True, "0": False}.get(args.get("id", "")),
        window=window if window in WINDOWS else None,
    )


def _whole(raw: str | None, high: int) -> int:
    if not (raw and raw.isascii() and raw.isdigit() and len(raw) < 4):
        return 1
    return min(max(int(raw), 1), high)


def state_target(path: str, capture: Capture, sealer: Sealer) -> Target:
    return target(
        path, lang=capture.lang, reason=capture.reason, step=capture.step,
        **{"try": capture.attempt},
        n=sealer.seal(capture.number) if capture.number else None,
        src=capture.source, ok="1" if capture.confirmed else None,
        id=None if capture.identify is None else ("1" if capture.identify else "0"),
        win=capture.window)


def begin(capture: Capture, caller_id: str | None, sealer: Sealer) -> Decision:
    """A withheld caller ID goes straight to typing a number."""
    if caller_id is None:
        return Next(ask(replace(capture, step="enter", attempt=1), sealer))
    known = replace(capture, step="confirm", attempt=1, number=caller_id, source="caller_id")
    return Next(ask(known, sealer), keep=known)


def answer(capture: Capture, digits: str | None, regions: tuple[str, ...],
           sealer: Sealer) -> Decision:
    """What happens after the caller pressed `digits` (None: nothing) at a step."""
    if capture.step == "confirm":
        return _confirm(capture, digits, sealer)
    if capture.step == "enter":
        return _enter(capture, digits, regions, sealer)
    if capture.step == "check":
        return _check(capture, digits, sealer)
    if capture.step == "identify":
        return _identify(capture, digits, sealer)
    if capture.step == "window":
        return _window(capture, digits, sealer)
    if capture.step == "hour":
        return _hour(capture, digits, sealer)
    return Next(done(capture.lang))


def _confirm(capture: Capture, digits: str | None, sealer: Sealer) -> Decision:
    if capture.number is None:
        return Next(ask(replace(capture, step="enter", attempt=1), sealer))
    if digits == "1":
        return Store(replace(capture, confirmed=True, step="identify", attempt=1))
    if digits == "2":
        other = replace(capture, step="enter", attempt=1, number=None, source=None)
        return Next(ask(other, sealer), forget_number=True)
    if digits is None or capture.attempt >= TRIES:
        # No answer: the caller may not be able to speak or press. We have their number; the
        # request is kept at once, marked as never confirmed.
        return Store(replace(capture, step="identify", attempt=1))
    return Next(_again(capture, digits, sealer))


def _enter(capture: Capture, digits: str | None, regions: tuple[str, ...],
           sealer: Sealer) -> Decision:
    number = phones.parse_entered(digits or "", regions)
    if number is not None:
        entered = replace(capture, step="check", attempt=1, number=number, source="entered")
        return Next(ask(entered, sealer), keep=entered)
    if capture.attempt >= TRIES:
        return NoNumber(capture.lang)
    retry = replace(capture, attempt=capture.attempt + 1)
    said = (Say(capture.lang, "callback_number_invalid"),) if digits else ()
    again = ask(retry, sealer)
    return Next(Plan(said + again.steps, "callback:number-invalid", private=True))


def _check(capture: Capture, digits: str | None, sealer: Sealer) -> Decision:
    if digits == "2":
        other = replace(capture, step="enter", attempt=1, number=None, source=None)
        return Next(ask(other, sealer), forget_number=True)
    if digits == "1" or capture.attempt >= TRIES:  # in the end: they typed it themselves
        return Store(replace(capture, confirmed=True, step="identify", attempt=1))
    return Next(_again(capture, digits, sealer))


def _identify(capture: Capture, digits: str | None, sealer: Sealer) -> Decision:
    if digits in ("1", "2") or digits is None or capture.attempt >= 2:
        # No answer means no: someone else may hold the phone.
        answered = replace(capture, identify=digits == "1")
        return Amend(answered, ask(replace(answered, step="window", attempt=1), sealer))
    return Next(_again(capture, digits, sealer))


def _window(capture: Capture, digits: str | None, sealer: Sealer) -> Decision:
    window = WINDOW_KEYS.get(digits or "")
    if window is not None or capture.attempt >= 2:
        answered = replace(capture, window=window)
        after = "hour" if _zone_unknown(capture.number) else "message"
        return Amend(answered, ask(replace(answered, step=after, attempt=1), sealer))
    return Next(_again(capture, digits, sealer))


def _zone_unknown(number: str | None) -> bool:
    """A number whose zones disagree on the time (a Russian mobile: Kaliningrad to
    Kamchatka) does not tell when it is safe to call: then we ask the caller the hour."""
    return number is not None and phones.timezone_of(number) is None


def _hour(capture: Capture, digits: str | None, sealer: Sealer) -> Decision:
    """Two keys, 00 to 23. Silence or anything else skips the question: it is only a help."""
    hour = int(digits) if digits and digits.isascii() and digits.isdigit() else None
    message = ask(replace(capture, step="message", attempt=1), sealer)
    if hour is None or len(digits or "") != 2 or hour > 23:
        return Next(message)
    return Amend(replace(capture, hour=hour), message)


def utc_offset(hour: int, at: datetime) -> int:
    """Minutes east of UTC of a caller for whom it is `hour` o'clock `at` (UTC).

    They tell the hour only, so the offset is whole hours: a zone half an hour off (India,
    Iran, Newfoundland) is shown up to 30 minutes early or late, and a caller who answers as
    the hour turns may be an hour off. The day's 24 hours wrap between -9 and +14, so that
    Kamchatka (+12) and New Zealand (+13) are read right rather than Hawaii (-10).
    """
    utc = at.astimezone(UTC) if at.tzinfo else at
    hours = (hour - utc.hour) % 24
    return (hours - 24 if hours > 14 else hours) * 60


def _again(capture: Capture, digits: str | None, sealer: Sealer) -> Plan:
    """The same question once more, after "that is not an option" if a wrong key was pressed."""
    retry = replace(capture, attempt=capture.attempt + 1)
    said = (Say(capture.lang, "invalid_option"),) if digits else ()
    again = ask(retry, sealer)
    return Plan(said + again.steps, "callback:again", private=True)


def ask(capture: Capture, sealer: Sealer) -> Plan:
    """The question of the capture's step."""
    lang = capture.lang
    action = state_target(paths.CALLBACK_REQUEST_INPUT, capture, sealer)
    if capture.step == "message":
        done = state_target(paths.CALLBACK_REQUEST_MESSAGE, capture, sealer)
        message = Record(action=done, then=done,
                         recording_callback=target(paths.CALLBACK_REQUEST_RECORDING))
        return Plan((Say(lang, "callback_record"), message), "callback:ask-message",
                    private=True)
    prompts: tuple[Speech, ...]
    if capture.step == "confirm" and capture.number is not None:
        prompts = (Say(lang, "callback_confirm"), SayDigits(lang, capture.number[-2:]),
                   Say(lang, "callback_confirm_keys"))
    elif capture.step == "check" and capture.number is not None:
        prompts = (Say(lang, "callback_entered"), SayDigits(lang, capture.number.lstrip("+")),
                   Say(lang, "callback_entered_keys"))
    elif capture.step in ("confirm", "enter"):
        return Plan((Ask((Say(lang, "callback_enter"),), action, timeout=10, num_digits=15,
                         finish_on_key="#"),), "callback:ask-enter", private=True)
    elif capture.step == "hour":
        return Plan((Ask((Say(lang, "callback_hour"),), action, timeout=6, num_digits=2),),
                    "callback:ask-hour", private=True)
    else:
        prompts = (Say(lang, f"callback_{capture.step}"),)
    return Plan((Ask(prompts, action, timeout=6),), f"callback:ask-{capture.step}", private=True)


def saved(capture: Capture, reference: str, sealer: Sealer) -> Plan:
    """The request is stored: its number, that the caller may hang up now, and the first of
    the optional questions."""
    then = ask(capture, sealer)
    return Plan((Say(capture.lang, "callback_saved"), SayDigits(capture.lang, reference),
                 Say(capture.lang, "callback_saved_more"), *then.steps), "callback:saved",
                private=True)


def done(lang: str) -> Plan:
    """After the message, or without one: everything the caller wanted to add is added."""
    return Plan((Say(lang, "callback_saved_end"), Hangup()), "callback:done")


def no_number(lang: str, operator_free: bool) -> Plan:
    """Three tries gave no number: never a dead end while an operator can answer."""
    if operator_free:
        return Plan((Say(lang, "callback_number_failed_operator"),
                     Redirect(target(paths.OPERATOR, lang=lang))), "callback:no-number-operator")
    return Plan((Say(lang, "callback_number_failed"), Hangup()), "callback:no-number")


def not_saved(lang: str) -> Plan:
    """Neither the database nor the disk took the request: say so, never "saved"."""
    return Plan((Say(lang, "technical_trouble"), Hangup()), "callback:lost", private=True)


def redirect_to_request(lang: str, reason: str) -> Redirect:
    return Redirect(target(paths.CALLBACK_REQUEST, lang=lang, reason=reason))
