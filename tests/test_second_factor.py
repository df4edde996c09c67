"""The second factor on the operators' page: set up at the first sign-in, asked after every
password, a code taken once, recovery codes good once, a lost phone reset by an engineer, and
a fresh code before a number is revealed."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from ivr.database import db
from ivr.models import AuditEntry, Operator
from ivr.operators.identity import staff_of
from ivr.twilio.phone_simulator import Phone
from tests.conftest import NOON
from tests.page_support import (
    PASSWORD,
    UKRAINIAN_CALLER,
    add_people,
    audit_trail,
    request_by_call,
    requests_in,
    stop_clock,
    without_csrf,
)
from tests.support import hotline_of

Dial = Callable[..., Phone]
STEP = timedelta(seconds=30)
SECRET_SHOWN = re.compile(r'<code id="totp-secret">([A-Z2-7]+)</code>')
RECOVERY_SHOWN = re.compile(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>")


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """The hotline, with the second factor required of everyone (as in production)."""
    return make_app(OPERATORS_2FA="required")


@pytest.fixture
def page(app: Flask) -> Flask:
    add_people(app, "olena", "ivan")
    stop_clock(app, NOON)
    return without_csrf(app)


def password(app: Flask, login: str = "olena") -> FlaskClient:
    client = app.test_client()
    response = client.post("/operators/login", data={"login": login, "password": PASSWORD})
    assert response.status_code == 302
    return client


def code_now(app: Flask, secret: str) -> str:
    return pyotp.TOTP(secret).at(hotline_of(app).clock.now())


def enrol(app: Flask, login: str = "olena") -> tuple[FlaskClient, str, list[str]]:
    """Sign in for the first time and set up the second factor: the client, the secret and
    the recovery codes."""
    client = password(app, login)
    shown = client.get("/operators/enrol").get_data(as_text=True)
    secret = SECRET_SHOWN.search(shown)
    assert secret is not None
    done = client.post("/operators/enrol", data={"code": code_now(app, secret[1])})
    assert done.status_code == 200
    return client, secret[1], RECOVERY_SHOWN.findall(done.get_data(as_text=True))


def later(app: Flask, by: timedelta = STEP) -> None:
    clock = hotline_of(app).clock
    assert clock.fixed is not None
    clock.fixed += by


def second_factor_entries(app: Flask) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(entry.login, entry.detail) for entry in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "second_factor")
            .order_by(AuditEntry.id))]


def olena_row(app: Flask) -> Operator:
    with app.app_context():
        return db.session.scalars(sa.select(Operator).where(Operator.login == "olena")).one()


def test_an_operator_signing_in_for_the_first_time_sets_up_the_second_factor(
        page: Flask) -> None:
    olena = page.test_client()
    response = olena.post("/operators/login", data={"login": "olena", "password": PASSWORD})
    assert response.headers["Location"] == "/operators/second-factor"
    assert olena.get("/operators/second-factor").headers["Location"] == "/operators/enrol"

    shown = olena.get("/operators/enrol")
    text = shown.get_data(as_text=True)
    assert '<figure class="qr" id="qr-code"><svg' in text
    assert "http" not in text.split('<figure class="qr"')[1].split("</figure>")[0]
    assert shown.headers["Content-Security-Policy"].startswith("default-src 'self'")
    # Halfway signed in, nothing else on the page opens.
    for path in ("/operators/", "/operators/queue/rows", "/operators/figures"):
        assert olena.get(path).status_code == 302
        assert "/operators/login" in olena.get(path).headers["Location"]

    secret = SECRET_SHOWN.search(text)
    assert secret is not None
    done = olena.post("/operators/enrol", data={"code": code_now(page, secret[1])})
    codes = RECOVERY_SHOWN.findall(done.get_data(as_text=True))
    assert len(set(codes)) == 10
    assert olena.get("/operators/").status_code == 200
    row = olena_row(page)
    assert row.totp_secret is not None and secret[1] not in row.totp_secret
    assert hotline_of(page).vault.unseal(row.totp_secret) == secret[1]
    assert row.recovery_codes is not None
    assert not any(code in row.recovery_codes for code in codes)
    assert second_factor_entries(page) == [("olena", "enrolled")]


def test_a_wrong_code_while_setting_up_is_refused(page: Flask) -> None:
    olena = password(page)
    olena.get("/operators/enrol")
    refused = olena.post("/operators/enrol", data={"code": "000000"})

    assert refused.status_code == 401
    assert "Wrong code." in refused.get_data(as_text=True)
    assert olena.get("/operators/").status_code == 302
    assert olena_row(page).totp_secret is None


def test_after_the_password_an_enrolled_operator_gives_a_code(page: Flask) -> None:
    _, secret, _ = enrol(page)
    later(page)
    olena = password(page)
    assert olena.get("/operators/").status_code == 302

    wrong = olena.post("/operators/second-factor", data={"code": "123456"})
    assert wrong.status_code == 401
    assert olena.get("/operators/").status_code == 302
    right = olena.post("/operators/second-factor", data={"code": code_now(page, secret)})

    assert right.headers["Location"] == "/operators/"
    assert olena.get("/operators/").status_code == 200
    assert ("olena", "login_failed", None) in audit_trail(page)


def test_a_code_is_taken_once(page: Flask) -> None:
    _, secret, _ = enrol(page)
    later(page)
    code = code_now(page, secret)
    first = password(page).post("/operators/second-factor", data={"code": code})
    assert first.status_code == 302

    replayed = password(page).post("/operators/second-factor", data={"code": code})
    assert replayed.status_code == 401
    # Nor is the code that set the factor up taken again, a step earlier.
    later(page, -STEP)
    assert password(page).post("/operators/second-factor",
                               data={"code": code_now(page, secret)}).status_code == 401


def test_a_recovery_code_signs_in_once(page: Flask) -> None:
    _, _, codes = enrol(page)
    first = password(page).post("/operators/second-factor", data={"code": codes[3]})
    assert first.status_code == 302

    again = password(page).post("/operators/second-factor", data={"code": codes[3]})
    assert again.status_code == 401
    other = password(page).post("/operators/second-factor",
                                data={"code": codes[4].upper().replace("-", " ")})
    assert other.status_code == 302
    assert second_factor_entries(page) == [("olena", "enrolled"),
                                           ("olena", "recovery code used"),
                                           ("olena", "recovery code used")]


def test_wrong_codes_count_toward_the_sign_in_limit(page: Flask) -> None:
    _, secret, _ = enrol(page)
    olena = password(page)
    for _ in range(4):  # the password's try was taken off the count: five wrong codes
        assert olena.post("/operators/second-factor", data={"code": "000000"}).status_code == 401
    assert olena.post("/operators/second-factor", data={"code": "000000"}).status_code == 401
    later(page)
    locked = olena.post("/operators/second-factor", data={"code": code_now(page, secret)})

    assert locked.status_code == 429
    assert "Too many failed attempts" in locked.get_data(as_text=True)


def test_revealing_a_number_asks_for_a_code_again_after_a_while(page: Flask,
                                                                 phone: Dial) -> None:
    request_by_call(phone, caller=UKRAINIAN_CALLER)
    [request] = requests_in(page)
    olena, secret, _ = enrol(page)
    olena.post(f"/operators/requests/{request.id}/claim")
    reveal = f"/operators/requests/{request.id}/reveal"
    assert "+380 50 123 4567" in olena.post(reveal).get_data(as_text=True)

    later(page, timedelta(minutes=16))
    asked = olena.post(reveal)
    assert asked.status_code == 200
    assert "+380 50 123 4567" not in asked.get_data(as_text=True)
    assert 'name="code"' in asked.get_data(as_text=True)
    wrong = olena.post(reveal, data={"code": "000000"})
    assert wrong.status_code == 401
    assert "+380 50 123 4567" not in wrong.get_data(as_text=True)
    right = olena.post(reveal, data={"code": code_now(page, secret)})
    assert "+380 50 123 4567" in right.get_data(as_text=True)
    later(page, timedelta(minutes=10))  # within the claim, and within the code's age
    assert "+380 50 123 4567" in olena.post(reveal).get_data(as_text=True)
    reveals = [entry for entry in audit_trail(page) if entry[1] == "reveal"]
    assert len(reveals) == 3


def test_an_engineer_resets_a_lost_second_factor(page: Flask, runner: FlaskCliRunner,
                                                  engineer: str) -> None:
    olena, _, _ = enrol(page)
    result = runner.invoke(args=["operators", "reset-2fa", "olena"])

    assert result.exit_code == 0, result.output
    assert "signed out everywhere" in result.output
    assert olena.get("/operators/").status_code == 302
    row = olena_row(page)
    assert (row.totp_secret, row.totp_last_step, row.recovery_codes) == (None, None, None)
    assert (engineer, "reset for olena") in second_factor_entries(page)
    later(page)
    again = password(page)
    assert again.get("/operators/second-factor").headers["Location"] == "/operators/enrol"


def test_resetting_an_unknown_login_says_so_in_one_line(page: Flask,
                                                         runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["operators", "reset-2fa", "nobody"])

    assert (result.exit_code, result.output) == (1, "ivr: no operator with login 'nobody'\n")


def test_where_it_is_optional_an_operator_without_it_signs_in_with_the_password(
        make_app: Callable[..., Flask]) -> None:
    app = without_csrf(make_app())
    add_people(app, "olena")
    assert hotline_of(app).settings.operators_2fa == "optional"

    assert password(app).get("/operators/").status_code == 200


def test_a_session_signed_in_without_the_second_factor_is_ended_where_it_is_required(
        page: Flask) -> None:
    """Say, signed in before the second factor was required."""
    with page.app_context():
        olena = staff_of(db.session.scalars(sa.select(Operator)
                                            .where(Operator.login == "olena")).one())
    client = page.test_client()
    with client.session_transaction() as cookie:
        cookie["_user_id"] = f"{olena.id}:{olena.token}"
        cookie["_fresh"] = True

    response = client.get("/operators/")

    assert response.headers["Location"] == "/operators/login"
    assert client.get("/operators/").headers["Location"].startswith("/operators/login")
