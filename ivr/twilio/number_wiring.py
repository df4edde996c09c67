"""Pointing one of the account's Twilio numbers at this app: `ivr twilio configure-number`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ivr import paths
from ivr.twilio.rest_api import NumberWiring, TwilioApi

E164 = re.compile(r"\+[1-9][0-9]{6,14}")


class WiringError(Exception):
    """The number cannot be wired; the message says why, in one line."""


@dataclass(frozen=True)
class Change:
    field: str
    old: str | None
    new: str

    def __str__(self) -> str:
        return f"{self.field}: {self.old or '(not set)'} → {self.new}"


def webhooks_for(base_url: str) -> dict[str, str]:
    """Twilio's number fields and what they must be for this app, all POST (signed bodies)."""
    return {
        "voice_url": base_url + paths.INCOMING,
        "voice_method": "POST",
        "voice_fallback_url": base_url + paths.FALLBACK,
        "voice_fallback_method": "POST",
        "status_callback": base_url + paths.STATUS,
        "status_callback_method": "POST",
    }


def changes_needed(number: NumberWiring, wanted: dict[str, str]) -> list[Change]:
    return [Change(field, getattr(number, field), value) for field, value in wanted.items()
            if getattr(number, field) != value]


def configure_number(api: TwilioApi, phone_number: str, base_url: str | None) -> list[Change]:
    """Set the number's webhooks to this app's; returns what changed (nothing if it was)."""
    if not E164.fullmatch(phone_number):
        raise WiringError(f"{phone_number!r} is not an E.164 number like +15005550006")
    if base_url is None:
        raise WiringError("PUBLIC_BASE_URL is not set: it is the https:// URL Twilio must call")
    number = api.find_number(phone_number)
    if number is None:
        raise WiringError(f"{phone_number} is not one of this Twilio account's numbers")
    changes = changes_needed(number, webhooks_for(base_url))
    if changes:
        api.wire_number(number.sid, **{change.field: change.new for change in changes})
    return changes
