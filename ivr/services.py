"""The services a running hotline is made of, built once per app by create_app and reached
from any request: settings, the menu and its prompts, the phone keys, the database, the
call log, the callback requests' writer, Twilio's REST API and the numbers blocked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy.engine import Engine
from twilio.request_validator import RequestValidator

from ivr.call_log.writer import CallLog
from ivr.callback_requests.writer import RequestWriter
from ivr.menu.menu_file import Menu
from ivr.menu.prompts import Catalog
from ivr.menu.twiml import Renderer
from ivr.operators.blocking import BlockList
from ivr.phones import PhoneVault
from ivr.settings import Settings
from ivr.telegram.bot_api import BotApi
from ivr.twilio.rest_api import TwilioApi


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
    callback_requests: RequestWriter
    twilio: TwilioApi
    blocks: BlockList
    clock: Clock = field(default_factory=Clock)
    # The Telegram bot's side (ivr/telegram/bot_api.py); without TELEGRAM_BOT_TOKEN, no bot.
    telegram: BotApi = field(default_factory=lambda: BotApi(None))


def current_hotline() -> Hotline:
    hotline: Hotline = current_app.extensions["ivr"]
    return hotline
