"""What the page's views read on every request: the hotline's services, the time, how long a
claim lasts, the languages, and who is acting (for the audit log)."""

from __future__ import annotations

from datetime import datetime

from flask import request

from ivr.operators.audit import Actor
from ivr.operators.web.login import me
from ivr.services import Hotline, current_hotline


def hotline() -> Hotline:
    return current_hotline()


def now() -> datetime:
    return hotline().clock.now()


def minutes() -> int:
    return hotline().settings.claim_minutes


def languages() -> tuple[str, ...]:
    return tuple(hotline().menu.languages)


def actor() -> Actor:
    """The signed-in person, as the audit log names them."""
    return Actor(me().login, me().id, request.remote_addr)
