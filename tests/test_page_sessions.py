"""A session someone else planted or kept never signs them in as the operator who used it."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.page_support import PASSWORD, add_people, without_csrf


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("session", path="/")
    return None if cookie is None else cookie.value


def test_a_session_planted_before_sign_in_is_not_signed_in_after_it(app: Flask) -> None:
    add_people(app, "olena")
    without_csrf(app)
    victim = app.test_client()
    victim.get("/operators/login?lang=ru")  # the page makes a session for the language
    planted = session_cookie(victim)
    assert planted is not None
    attacker = app.test_client()
    attacker.set_cookie("session", planted, path="/")

    signed_in = victim.post("/operators/login", data={"login": "olena", "password": PASSWORD})

    assert signed_in.status_code == 302
    assert session_cookie(victim) != planted
    assert victim.get("/operators/").status_code == 200
    refused = attacker.get("/operators/")
    assert refused.status_code == 302
    assert refused.headers["Location"].startswith("/operators/login")


def test_a_session_kept_after_signing_out_signs_nobody_in(app: Flask) -> None:
    add_people(app, "olena")
    without_csrf(app)
    olena = app.test_client()
    olena.post("/operators/login", data={"login": "olena", "password": PASSWORD})
    kept = session_cookie(olena)
    assert kept is not None and olena.get("/operators/").status_code == 200

    olena.post("/operators/logout")
    someone = app.test_client()
    someone.set_cookie("session", kept, path="/")

    assert olena.get("/operators/").status_code == 302
    assert someone.get("/operators/").status_code == 302
