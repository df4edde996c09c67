"""Sign-in's limit on failures: a burst of wrong passwords gets no more tries judged than the
limit, someone guessing from elsewhere does not lock a person out of their own desk, and a
guess spread over many addresses is still stopped."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool
from werkzeug.test import TestResponse

from ivr.database import db
from ivr.models import AuditEntry, SignInCount
from ivr.operators import sign_in as signing
from tests.conftest import NOON
from tests.page_support import PASSWORD, add_people, stop_clock, without_csrf
from tests.support import hotline_of

HOME = "198.51.100.7"  # where Olena works from
GUESSER = "203.0.113.9"
WRONG = "not the password at all"
LOCKED = "Too many failed attempts. Wait 15 minutes, then try again."


@pytest.fixture
def page(app: Flask) -> Flask:
    add_people(app, "olena")
    stop_clock(app, NOON)
    return without_csrf(app)


@pytest.fixture
def quick_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt takes a tenth of a second a try on purpose; tests of many judged tries need
    the verdict, not the wait."""
    monkeypatch.setattr(signing, "check_password_hash",
                        lambda _stored, password: password == PASSWORD)


def try_sign_in(app: Flask, address: str, password: str = WRONG,
                login: str = "olena") -> TestResponse:
    client: FlaskClient = app.test_client()
    return client.post("/operators/login", data={"login": login, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def failures(app: Flask) -> list[tuple[str, str | None, str | None]]:
    with app.app_context():
        return [(entry.login, entry.detail, entry.address) for entry in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "login_failed")
            .order_by(AuditEntry.id))]


def race(engine: sa.Engine, tries: int, now: datetime) -> Counter[str]:
    """`tries` wrong passwords for Olena from one address, all let go at the same moment."""
    start = threading.Barrier(tries)
    outcomes: list[str] = []

    def one_try() -> None:
        with Session(bind=engine) as session:
            start.wait()
            outcome = signing.sign_in(session, "olena", WRONG, GUESSER, now)
            session.commit()
            outcomes.append(outcome.reason if isinstance(outcome, signing.Refused) else "in")

    threads = [threading.Thread(target=one_try) for _ in range(tries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Counter(outcomes)


def test_twenty_wrong_passwords_at_once_get_five_judged(page: Flask) -> None:
    outcomes = race(hotline_of(page).engine, 20, NOON)

    assert outcomes == {"wrong": 5, "locked": 15}
    assert Counter(detail for _login, detail, _address in failures(page)) == {
        "wrong": 5, "locked": 15}


@pytest.fixture
def postgres_engine(postgres_app: Flask) -> Iterator[sa.Engine]:
    """A connection for each of the racing tries (the app's pool is sized for a worker)."""
    add_people(postgres_app, "olena")
    engine = sa.create_engine(hotline_of(postgres_app).settings.database_url,
                              poolclass=NullPool)
    yield engine
    engine.dispose()


def test_twenty_wrong_passwords_at_once_get_five_judged_on_postgresql(
        postgres_app: Flask, postgres_engine: sa.Engine) -> None:
    outcomes = race(postgres_engine, 20, NOON)

    assert outcomes == {"wrong": 5, "locked": 15}
    assert Counter(detail for _login, detail, _address in failures(postgres_app)) == {
        "wrong": 5, "locked": 15}


def test_a_person_signs_in_from_their_own_address_while_someone_guesses_from_another(
        page: Flask) -> None:
    guesses = [try_sign_in(page, GUESSER).status_code for _ in range(30)]

    olena = try_sign_in(page, HOME, PASSWORD)

    assert guesses == [401] * 5 + [429] * 25
    assert olena.status_code == 302
    assert olena.headers["Location"] == "/operators/"


def test_a_guess_spread_over_many_addresses_still_locks_the_login(
        page: Flask, quick_passwords: None) -> None:
    guesses = [try_sign_in(page, f"203.0.113.{index}").status_code for index in range(50)]

    olena = try_sign_in(page, HOME, PASSWORD)
    another_guess = try_sign_in(page, "192.0.2.1")

    assert guesses == [401] * 50
    assert (olena.status_code, another_guess.status_code) == (429, 429)
    assert LOCKED in olena.get_data(as_text=True)
    assert failures(page)[-2:] == [("olena", "locked", HOME), ("olena", "locked", "192.0.2.1")]


def test_the_lock_says_what_it_always_said_and_the_audit_log_keeps_every_failure(
        page: Flask) -> None:
    wrong = [try_sign_in(page, HOME) for _ in range(5)]

    locked = try_sign_in(page, HOME, PASSWORD)

    assert {(response.status_code, "Wrong login or password." in response.get_data(as_text=True))
            for response in wrong} == {(401, True)}
    assert locked.status_code == 429
    assert LOCKED in locked.get_data(as_text=True)
    assert failures(page) == [("olena", "wrong", HOME)] * 5 + [("olena", "locked", HOME)]


def test_signing_in_again_and_again_is_no_failure(page: Flask, quick_passwords: None) -> None:
    for _ in range(4):
        try_sign_in(page, HOME)

    signed_in = [try_sign_in(page, HOME, PASSWORD).status_code for _ in range(10)]
    last_wrong_try = try_sign_in(page, HOME)

    assert signed_in == [302] * 10
    assert last_wrong_try.status_code == 401  # the fifth failure: still judged
    assert try_sign_in(page, HOME, PASSWORD).status_code == 429


def test_the_lock_lifts_once_the_window_has_passed_without_more_guessing(
        page: Flask, quick_passwords: None) -> None:
    for minute in range(5):
        stop_clock(page, NOON + timedelta(minutes=minute))
        try_sign_in(page, HOME)
    stop_clock(page, NOON + timedelta(minutes=10))
    assert try_sign_in(page, HOME, PASSWORD).status_code == 429

    stop_clock(page, NOON + timedelta(minutes=26))

    assert try_sign_in(page, HOME, PASSWORD).status_code == 302


def test_a_guess_that_goes_on_gets_no_fresh_start_when_the_window_passes(
        page: Flask, quick_passwords: None) -> None:
    for minute in (0, 1, 2, 3, 4, 8, 12, 15):
        stop_clock(page, NOON + timedelta(minutes=minute))
        try_sign_in(page, GUESSER)

    stop_clock(page, NOON + timedelta(minutes=16))

    assert try_sign_in(page, GUESSER, PASSWORD).status_code == 429


def test_counts_whose_window_has_passed_are_cleared_away(
        page: Flask, quick_passwords: None) -> None:
    for index in range(20):
        try_sign_in(page, f"203.0.113.{index}", login=f"guess{index}")
    stop_clock(page, NOON + timedelta(minutes=16))

    try_sign_in(page, HOME, PASSWORD)

    with page.app_context():
        kept = db.session.execute(sa.select(SignInCount.scope, SignInCount.login,
                                            SignInCount.address)).all()
    assert sorted(kept) == [("address", "", HOME), ("login", "olena", ""),
                            ("pair", "olena", HOME)]
