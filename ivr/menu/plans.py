"""What a caller hears and where the call goes next, as plain data.

Decisions (the menu, the callback request, the queue) return a Plan; ivr/menu/twiml.py turns
it into TwiML. Keeping the two apart lets the decisions be tested without HTTP or XML.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass(frozen=True)
class Target:
    """One of our webhooks, with the parameters that carry the caller's place."""

    path: str
    params: tuple[tuple[str, str], ...] = ()

    def url(self, base: str) -> str:
        return f"{base}{self.path}?{urlencode(self.params)}" if self.params else base + self.path

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)


def target(path: str, **params: str | int | None) -> Target:
    """A Target; parameters that are None are left out."""
    return Target(path, tuple((name, str(value)) for name, value in params.items()
                              if value is not None))


@dataclass(frozen=True)
class Say:
    """A prompt in a language: its recording, or its text spoken."""

    lang: str
    prompt: str


@dataclass(frozen=True)
class SayDigits:
    """Digits read one by one, from the `digit_0` … `digit_9` prompts of the language."""

    lang: str
    digits: str


Speech = Say | SayDigits


@dataclass(frozen=True)
class Ask:
    """Play the prompts while listening for keys; silence comes back to `action` without any."""

    prompts: tuple[Speech, ...]
    action: Target
    timeout: int
    num_digits: int = 1
    finish_on_key: str = ""
    # In a queue's wait music, silence just lets the music end (Twilio fetches it again).
    redirect_on_silence: bool = True


@dataclass(frozen=True)
class Redirect:
    to: Target


@dataclass(frozen=True)
class Record:
    """A short message; `then` is where the call goes if the caller records nothing."""

    action: Target
    recording_callback: Target
    then: Target
    max_length: int = 60
    timeout: int = 5


@dataclass(frozen=True)
class Enqueue:
    queue: str
    action: Target
    wait: Target


@dataclass(frozen=True)
class Leave:
    pass


@dataclass(frozen=True)
class DialQueue:
    """Connect this (operator's) leg to the first caller waiting in `queue`."""

    queue: str
    timeout: int
    action: Target
    announce: Target


@dataclass(frozen=True)
class DialNumber:
    """Connect this (operator's) leg to a number, showing `caller_id` (one of ours)."""

    number: str  # E.164; a plan holding one is private
    caller_id: str
    timeout: int
    action: Target
    status_callback: Target


@dataclass(frozen=True)
class Hangup:
    pass


Step = Say | SayDigits | Ask | Redirect | Record | Enqueue | Leave | DialQueue | DialNumber | Hangup


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    outcome: str  # what we decided, for the call log
    language: str | None = None  # the language this step settled on, if it did
    # Says or carries something of one caller's (their number): never cached.
    private: bool = False
