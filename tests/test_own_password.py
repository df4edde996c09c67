"""An operator changes their own password: the current one, the new one twice, their second
factor's code if they have one; their other sessions end; every try counts like a sign-in's."""

from __future__ import annotations

from collections.abc import Callable

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ivr.database import db
from ivr.models import AuditEntry
from ivr.operators import sign_in as sign_in_module
from tests.conftest import NOON
from tests.page_support import PASSWORD, add_people, sign_in, stop_clock, without_csrf
from tests.support import hotline_of

NEW = "a brand new passphrase for olena"


@pytest.fixture
def page(app: Flask) -> Flask:
    add_people(app, "olena", "ivan")
    stop_clock(app, NOON)
    return without_csrf(app)


def change(client: FlaskClient, current: str = PASSWORD, new: str = NEW,
           again: str | None = None, code: str = "") -> tuple[int, str]:
    response = client.post("/operators/password", data={
        "current": current, "new": new, "again": new if again is None else again,
        "code": code}, follow_redirects=True)
    return response.status_code, response.get_data(as_text=True)


def entries(app: Flask, action: str) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(entry.login, entry.detail) for entry in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


def test_olena_finds_her_password_page_in_the_header(page: Flask) -> None:
    olena = sign_in(page, "olena")

    queue = olena.get("/operators/").get_data(as_text=True)
    form = olena.get("/operators/password")

    assert 'href="/operators/password"' in queue and "My password" in queue
    assert form.status_code == 200
    body = form.get_data(as_text=True)
    assert "Current password" in body and "New password again" in body
    assert 'id="code"' not in body  # she has no second factor to give


def test_olena_changes_her_password_and_her_other_sessions_end(page: Flask) -> None:
    laptop, phone = sign_in(page, "olena"), sign_in(page, "olena")

    status, body = change(laptop)

    assert status == 200 and "Your password is changed" in body
    assert laptop.get("/operators/").status_code == 200  # this session goes on
    assert phone.get("/operators/").status_code == 302  # the other one is over
    assert ("olena", "changed their own password") in entries(page, "account")
    sign_in(page, "olena", NEW)
    refused = page.test_client().post("/operators/login",
                                      data={"login": "olena", "password": PASSWORD})
    assert refused.status_code == 401


def test_a_wrong_current_password_is_refused_in_words_and_counted(page: Flask) -> None:
    olena = sign_in(page, "olena")

    status, body = change(olena, current="not my password at all")

    assert status == 400 and "Your current password is not right. Nothing was changed." in body
    assert ("olena", "wrong current password") in entries(page, "login_failed")
    sign_in(page, "olena")  # the password is still the old one


def test_two_different_new_passwords_are_refused(page: Flask) -> None:
    olena = sign_in(page, "olena")

    status, body = change(olena, again=NEW + "!")

    assert status == 400 and "The two new passwords differ" in body
    sign_in(page, "olena")


def test_a_short_new_password_is_refused_with_the_rule(page: Flask) -> None:
    olena = sign_in(page, "olena")

    status, body = change(olena, new="short one")

    assert status == 400 and "it needs at least 12 characters" in body
    sign_in(page, "olena")


def test_an_empty_form_asks_for_every_field(page: Flask) -> None:
    olena = sign_in(page, "olena")

    response = olena.post("/operators/password", data={})

    assert response.status_code == 400 and "Fill in every field." in response.get_data(
        as_text=True)


def test_the_form_cannot_be_used_to_guess_the_current_password(page: Flask) -> None:
    """Someone at Olena's unlocked desk tries passwords: refused as at sign-in, and then
    even the right one is refused for a while."""
    olena = sign_in(page, "olena")
    for guess in range(sign_in_module.MAX_FAILURES):
        assert change(olena, current=f"guess number {guess}")[0] == 400

    status, body = change(olena)

    assert status == 429 and "Too many failed attempts" in body
    # Counted with the sign-in's tries: the sign-in page is closed to her for a while too.
    again = page.test_client().post("/operators/login",
                                    data={"login": "olena", "password": PASSWORD})
    assert again.status_code == 429


def test_a_page_without_a_session_sends_to_sign_in(page: Flask) -> None:
    assert page.test_client().get("/operators/password").status_code == 302


def test_a_forged_change_without_the_csrf_token_is_refused(page: Flask) -> None:
    olena = sign_in(page, "olena")
    page.config["WTF_CSRF_ENABLED"] = True

    status, body = change(olena)

    assert status == 400 and "This form has expired" in body
    page.config["WTF_CSRF_ENABLED"] = False
    sign_in(page, "olena")


@pytest.fixture
def guarded(make_app: Callable[..., Flask]) -> Flask:
    app = make_app(OPERATORS_2FA="required")
    add_people(app, "olena")
    stop_clock(app, NOON)
    return without_csrf(app)


def enrolled(app: Flask) -> tuple[FlaskClient, pyotp.TOTP]:
    client = app.test_client()
    client.post("/operators/login", data={"login": "olena", "password": PASSWORD})
    shown = client.get("/operators/enrol").get_data(as_text=True)
    secret = shown.split('<code id="totp-secret">')[1].split("</code>")[0]
    totp = pyotp.TOTP(secret)
    client.post("/operators/enrol", data={"code": totp.at(hotline_of(app).clock.now())})
    return client, totp


def test_with_a_second_factor_olena_gives_a_fresh_code_too(guarded: Flask) -> None:
    olena, totp = enrolled(guarded)
    hotline_of(guarded).clock.fixed = NOON.replace(minute=5)
    assert 'id="code"' in olena.get("/operators/password").get_data(as_text=True)

    status, body = change(olena, code="000000")
    assert status == 400 and "Wrong code. Nothing was changed." in body

    status, body = change(olena, code=totp.at(hotline_of(guarded).clock.now()))
    assert status == 200 and "Your password is changed" in body
    assert olena.get("/operators/").status_code == 200  # still signed in, with the factor
