"""The pieces a running hotline is made of, built once per app and reached from any request."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy.engine import Engine
from twilio.request_validator import RequestValidator

from ivr.callbacks.book import CallbackBook
from ivr.calllog import CallLog
from ivr.menu import Menu
from ivr.phones import PhoneVault
from ivr.prompts import Catalog
from ivr.settings import Settings
from ivr.twilio_api import TwilioApi
from ivr.voice.twiml import Renderer


class Clock:
    """The time. Tests stop it at a moment of their choosing."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def now(self) -> datetime:
        return self.fixed or datetime.now(UTC)


@dataclass(frozen=True)
class Hotline:
    settings: Settings
    menu: Menu
    catalog: Catalog
    renderer: Renderer
    vault: PhoneVault
    validator: RequestValidator
    engine: Engine
    call_log: CallLog
    book: CallbackBook
    twilio: TwilioApi
    clock: Clock = field(default_factory=Clock)


def current_hotline() -> Hotline:
    hotline: Hotline = current_app.extensions["ivr"]
    return hotline
