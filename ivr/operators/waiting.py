"""What callers hear on the way to an operator, and what operators hear before they accept."""

from __future__ import annotations

from ivr import paths
from ivr.callback_requests.questions import redirect_to_request
from ivr.menu.plans import (
    Ask,
    DialQueue,
    Enqueue,
    Hangup,
    Leave,
    Plan,
    Say,
    Speech,
    target,
)
from ivr.operators.availability import REASON, Availability

# Results of <Enqueue> after the caller talked to an operator.
BRIDGED = ("bridged", "bridging-in-process", "redirected-from-bridged")
ACCEPT_KEY = "1"
LONGEST_SAID_WAIT = 10  # minutes; beyond, "more than ten minutes"


def queue_name(language: str) -> str:
    """Twilio's queue of a language's callers (made on demand, up to 64 characters)."""
    return f"hotline-{language}"


def join(lang: str, availability: Availability) -> Plan:
    """Into the language's queue, or, when no operator can answer, to the callback request."""
    if availability != "open":
        return Plan((Say(lang, f"operator_{availability}"),
                     redirect_to_request(lang, REASON[availability])),
                    f"operator:{availability}")
    return Plan((Say(lang, "queue_joined"),
                 Enqueue(queue_name(lang), action=target(paths.QUEUE_LEFT, lang=lang),
                         wait=target(paths.QUEUE_WAIT, lang=lang))), "operator:queued")


def wait(lang: str, position: int | None, queue_time: int, max_wait: int,
         availability: Availability | None, average_wait: int | None = None) -> Plan:
    """One round of the wait music; Twilio asks again when it ends. Everything is said
    inside the <Gather>, where any key works: how to leave, the expected wait (from Twilio's
    AvgQueueTime, in minutes), the caller's place (a number in words), then the music."""
    if queue_time >= max_wait:
        return Plan((Say(lang, "queue_too_long"), Leave()), "queue:too-long")
    if availability in ("surge", "closed", "nobody"):
        return Plan((Say(lang, f"operator_{availability}"), Leave()), f"queue:{availability}")
    prompts: list[Speech] = [Say(lang, "queue_leave_hint")]
    if average_wait:  # Twilio's AvgQueueTime: 0 until callers have waited, so nothing to say
        prompts.append(Say(lang, expected_wait(average_wait)))
    if position:
        prompts += place_in_queue(lang, position)
    prompts.append(Say(lang, "hold_music"))
    return Plan((Ask(tuple(prompts), target(paths.QUEUE_KEY, lang=lang), timeout=1,
                     redirect_on_silence=False),), "queue:waiting")


def expected_wait(seconds: int) -> str:
    """The prompt that says the wait in minutes: under one, 1 to 10, or more than ten."""
    if seconds < 60:
        return "queue_wait_0"
    minutes = round(seconds / 60)
    return f"queue_wait_{minutes}" if minutes <= LONGEST_SAID_WAIT else "queue_wait_more"


def place_in_queue(lang: str, position: int) -> list[Speech]:
    """"Your place in the queue: twelve" (words, not digits); "many ahead" past 99."""
    if position > 99:
        return [Say(lang, "queue_position_many")]
    return [Say(lang, "queue_position"), *(Say(lang, word) for word in number_words(position))]


def number_words(number: int) -> tuple[str, ...]:
    """The number prompts that say 1 to 99: "number_12"; "number_40", "number_2"."""
    if number < 20:
        return (f"number_{number}",)
    tens, units = divmod(number, 10)
    return (f"number_{tens * 10}",) + ((f"number_{units}",) if units else ())


def leave_queue() -> Plan:
    return Plan((Leave(),), "queue:key")


def left(lang: str, result: str, queue_time: int, max_wait: int,
         availability: Availability | None) -> Plan:
    """The caller is out of the queue: after talking, hung up, or leaving for a request."""
    if result in BRIDGED:
        return Plan((Say(lang, "queue_goodbye"), Hangup()), f"queue:{result}")
    if result == "hangup":
        return Plan((Hangup(),), "queue:abandoned")
    if result != "leave":
        reason = "no_operator"  # queue full, or Twilio's own error
    elif availability in REASON:
        reason = REASON[availability]
    else:
        reason = "waited_too_long" if queue_time >= max_wait else "chosen"
    return Plan((redirect_to_request(lang, reason),), f"queue:{result}:{reason}")


def connecting(lang: str) -> Plan:
    return Plan((Say(lang, "queue_connecting"),), "queue:connecting")


def whisper(lang: str, ring_id: int) -> Plan:
    """On the operator's phone: the caller's language, and a key to press to take the call."""
    return Plan((Ask((Say(lang, "operator_whisper"),), target(paths.OPERATOR_ACCEPT, ring=ring_id),
                     timeout=8),), "operator:whisper")


def accepted(lang: str, ring_id: int) -> Plan:
    return Plan((DialQueue(queue_name(lang), timeout=10,
                           action=target(paths.OPERATOR_DONE, ring=ring_id),
                           announce=target(paths.QUEUE_CONNECT, lang=lang)),),
                "operator:accepted")


def not_accepted() -> Plan:
    return Plan((Hangup(),), "operator:not-accepted")


def no_caller(lang: str) -> Plan:
    return Plan((Say(lang, "operator_no_caller"), Hangup()), "operator:no-caller")
