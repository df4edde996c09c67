"""Helpers the tests share: settings for a test app, signed requests, what got stored."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from ivr.database import db
from ivr.models import Call, CallEvent
from ivr.services import Hotline
from ivr.twilio.phone_simulator import Heard, Phone

AUTH_TOKEN = "test-auth-token"
BASE_URL = "http://localhost"
CALLER = "+79161234567"
HOTLINE = "+15005550006"
CALL_SID = "CA" + "1" * 32


# The shipped menu has Ukrainian said by Twilio's voice (<Say>), where the stories tell which
# prompt a caller heard by its recording's file name: their copy of the prompts plays every
# language's recordings. Set once a session by conftest; tests of the shipped menu itself name
# PROMPTS_DIR themselves.
STORY_PROMPTS: list[Path] = []


def settings_for(database_url: str, **overrides: str) -> dict[str, str]:
    prompts_dir = {"PROMPTS_DIR": str(STORY_PROMPTS[0])} if STORY_PROMPTS else {}
    return {"IVR_ENV": "development", "DATABASE_URL": database_url,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "LOG_LEVEL": "INFO", "HOTLINE_NUMBER": HOTLINE,
            **prompts_dir, **overrides}


def prompts_playing_recordings(shipped: Path, copy: Path) -> Path:
    """The shipped prompts (linked, not copied), with every language on its recordings."""
    copy.mkdir()
    for item in shipped.iterdir():
        if item.name != "menu.yaml":
            (copy / item.name).symlink_to(item)
    menu = (shipped / "menu.yaml").read_text()
    (copy / "menu.yaml").write_text(menu.replace(", speak: voice}", "}"))
    return copy


def hotline_of(app: Flask) -> Hotline:
    hotline: Hotline = app.extensions["ivr"]
    return hotline


def signature(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(url, params))


def twilio_params(**params: str) -> dict[str, str]:
    """What Twilio sends with every voice webhook of an inbound call."""
    return {"CallSid": CALL_SID, "AccountSid": "AC" + "0" * 32, "From": CALLER, "To": HOTLINE,
            "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01",
            **params}


def signed_post(client: FlaskClient, path: str, params: dict[str, str],
                token: str = AUTH_TOKEN, base: str = BASE_URL,
                headers: dict[str, str] | None = None) -> TestResponse:
    return client.post(path, data=params, headers={
        "X-Twilio-Signature": signature(base + path, params, token), **(headers or {})})


def stored_calls(app: Flask) -> list[Call]:
    assert hotline_of(app).call_log.drain(), "the call log did not finish writing"
    with app.app_context():
        return list(db.session.scalars(sa.select(Call).order_by(Call.id)))


def stored_events(app: Flask, call_sid: str | None = None) -> list[CallEvent]:
    assert hotline_of(app).call_log.drain(), "the call log did not finish writing"
    query = sa.select(CallEvent).order_by(CallEvent.id)
    if call_sid is not None:
        query = query.where(CallEvent.call_sid == call_sid)
    with app.app_context():
        return list(db.session.scalars(query))


def prompts(heard: Iterable[Heard]) -> list[tuple[str | None, str | None]]:
    """(language, prompt id) of each recording heard."""
    return [(item.lang, item.prompt) for item in heard]


Result = TypeVar("Result")


def fails_once(function: Callable[..., Result]) -> Callable[..., Result]:
    """`function`, except that its first call raises (a moment's technical trouble)."""
    failures = [RuntimeError("the first try fails")]

    def flaky(*args: Any, **kwargs: Any) -> Result:
        if failures:
            raise failures.pop()
        return function(*args, **kwargs)

    return flaky


def at_the_main_menu(phone: Callable[..., Phone],
                     caller: str = "+380501234567") -> tuple[Phone, list[str]]:
    """A Ukrainian caller who dialled and chose Ukrainian, and the webhooks Twilio requests
    from now on in their call, in order."""
    call = phone(caller=caller)
    call.dial()
    call.press("2")
    requested: list[str] = []
    send = call.send

    def recording(method: str, url: str, params: dict[str, str],
                  headers: dict[str, str]) -> tuple[int, str, bytes]:
        if urlsplit(url).path.startswith("/voice/"):
            requested.append(urlsplit(url).path)
        return send(method, url, params, headers)

    call.send = recording
    return call, requested
