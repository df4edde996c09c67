"""Helpers for the operators' page tests: named people, signed-in clients, requests made by
simulated calls."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from unittest import mock

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from ivr.database import db
from ivr.models import AuditEntry, CallbackRequest, Operator
from ivr.operators import accounts
from ivr.twilio.phone_simulator import Phone
from tests.support import hotline_of

PASSWORD = "correct horse battery staple"
# Olena takes Ukrainian and Russian, Ivan only Russian; Sofia supervises.
PEOPLE = {
    "olena": ("Olena K", "+380501112233", ("uk", "ru"), "operator"),
    "ivan": ("Ivan P", "+79160001122", ("ru",), "operator"),
    "sofia": ("Sofia M", "+380671234500", ("uk", "ru", "en"), "supervisor"),
}
UKRAINIAN_CALLER = "+380501234567"
RUSSIAN_CALLER = "+79161234567"
LANGUAGE_KEYS = {"ru": "1", "uk": "2", "en": "3"}


# scrypt is slow on purpose; the tests hash the one password they share once.
_hash_once = functools.cache(generate_password_hash)


def add_people(app: Flask, *logins: str) -> None:
    with app.app_context(), mock.patch.object(accounts, "generate_password_hash", _hash_once):
        for login in logins or tuple(PEOPLE):
            name, phone, languages, role = PEOPLE[login]
            accounts.add_operator(db.session(), hotline_of(app).vault, login=login, name=name,
                                  phone=phone, languages=languages,
                                  known_languages=("ru", "uk", "en"), role=role,
                                  password=PASSWORD)
        db.session.commit()


def people(app: Flask) -> dict[str, Operator]:
    """The team by login, as stored."""
    with app.app_context():
        return {person.login: person for person in db.session.scalars(sa.select(Operator))}


def sign_in(app: Flask, login: str, password: str = PASSWORD) -> FlaskClient:
    client = app.test_client()
    response = client.post("/operators/login", data={"login": login, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def without_csrf(app: Flask) -> Flask:
    """For the tests that are not about CSRF (one test proves a forged form is refused)."""
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def request_by_call(phone: Callable[..., Phone], caller: str = UKRAINIAN_CALLER,
                    language: str = "uk", identify: bool = False, window: str = "3",
                    message: int | None = 12, hour: str | None = None) -> Phone:
    """A caller who asks to be called back, answers the questions and leaves a message."""
    call = phone(caller=caller)
    call.dial()
    call.press(LANGUAGE_KEYS[language])
    call.press("2")  # the callback request
    call.press("1")  # yes, this number
    call.press("1" if identify else "2")
    heard = call.press(window)
    if heard and heard[-1].prompt == "callback_hour":  # a number that does not tell the zone
        call.press(hour) if hour else call.wait()
    if message is None:
        call.hang_up()
        return call
    call.record(seconds=message)
    call.recording_ready()
    return call


def requests_in(app: Flask) -> list[CallbackRequest]:
    with app.app_context():
        return list(db.session.scalars(sa.select(CallbackRequest).order_by(CallbackRequest.id)))


def audit_trail(app: Flask) -> list[tuple[str, str, int | None]]:
    with app.app_context():
        return [(entry.login, entry.action, entry.request_id) for entry in db.session.scalars(
            sa.select(AuditEntry).order_by(AuditEntry.id))]


def stop_clock(app: Flask, at: datetime) -> None:
    hotline_of(app).clock.fixed = at
