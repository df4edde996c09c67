"""The pieces a running hotline is made of, built once per app and reached from any request."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from twilio.request_validator import RequestValidator

from ivr.calllog import CallLog
from ivr.menu import Menu
from ivr.phones import PhoneVault
from ivr.prompts import Catalog
from ivr.settings import Settings
from ivr.voice.twiml import Renderer


@dataclass(frozen=True)
class Hotline:
    settings: Settings
    menu: Menu
    catalog: Catalog
    renderer: Renderer
    vault: PhoneVault
    validator: RequestValidator
    call_log: CallLog


def current_hotline() -> Hotline:
    hotline: Hotline = current_app.extensions["ivr"]
    return hotline
