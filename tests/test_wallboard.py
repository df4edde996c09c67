"""The wallboard: callers waiting per language and the longest wait (from our call log, not
from Twilio), operators by what they are doing, requests due, call backs going on, today's
answered and abandoned; for people who signed in, and never a caller's number."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ivr.database import db
from ivr.models import Call, CallbackRequest, Operator, utcnow
from ivr.operators import board, presence
from ivr.twilio.phone_simulator import Phone
from tests.conftest import NOON, phone_for
from tests.fake_twilio import FakeTwilio
from tests.page_support import (
    RUSSIAN_CALLER,
    UKRAINIAN_CALLER,
    add_people,
    request_by_call,
    sign_in,
    stop_clock,
    without_csrf,
)
from tests.support import hotline_of
from tests.test_presence import olena, put_on_duty
from tests.test_reaching_an_operator import asks_for_an_operator, operator_phone

Dial = Callable[..., Phone]
WAITING_CALLER = "+380671230077"


def figures(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/operators/board/figures.json")
    assert response.status_code == 200
    found: dict[str, Any] = response.get_json()
    return found


def waiting_in(found: dict[str, Any], language: str) -> dict[str, Any]:
    return next(line for line in found["languages"]
                if line["language"] == language)


def the_log_is_written(app: Flask) -> None:
    assert hotline_of(app).call_log.drain()


def board_at(app: Flask, now: datetime) -> board.Board:
    """The board at a moment: the call log stamps steps with the real time, whatever the
    desk's stopped clock says, so the day's figures are read at the real time."""
    with app.app_context():
        return board.board(db.session(), ("ru", "uk", "en"), now, "Europe/Kyiv", 180, 30)


def test_a_caller_in_the_queue_is_on_the_board_until_put_through(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    add_people(desk_app)
    put_on_duty(desk_app, "olena")
    sofia = sign_in(without_csrf(desk_app), "sofia")
    assert figures(sofia)["waiting"] == 0

    call, _ = asks_for_an_operator(phone, caller=WAITING_CALLER)
    the_log_is_written(desk_app)
    found = figures(sofia)
    assert found["waiting"] == 1 and waiting_in(found, "uk")["waiting"] == 1
    assert waiting_in(found, "ru")["waiting"] == 0
    assert found["operators"]["in_call"] == 1  # Olena is being rung

    operator = operator_phone(desk_app, twilio.placed[0])
    operator.answer(twilio.placed[0]["Url"])
    operator.press("1")
    call.put_through(operator)
    the_log_is_written(desk_app)
    found = figures(sofia)
    assert found["waiting"] == 0
    assert found["answered_today"] == 1 and found["operators"]["in_call"] == 1

    call.conversation_ends(operator)
    assert figures(sofia)["operators"]["wrap_up"] == 1


def test_the_longest_wait_is_from_when_the_first_caller_joined(
        desk_app: Flask, phone: Dial) -> None:
    add_people(desk_app)
    put_on_duty(desk_app, "olena")
    asks_for_an_operator(phone, caller=WAITING_CALLER)
    asks_for_an_operator(phone, caller=UKRAINIAN_CALLER)
    the_log_is_written(desk_app)
    with desk_app.app_context():
        joined = board.callers_waiting(db.session(), NOON, max_wait=180)["uk"]
        later = min(joined) + timedelta(seconds=75)
        found = board.board(db.session(), ("ru", "uk", "en"), later, "Europe/Kyiv", 180, 30)

    assert found.waiting == 2
    assert found.longest_wait_seconds == 75


def test_a_caller_who_hung_up_in_the_queue_is_abandoned_not_waiting(
        desk_app: Flask, phone: Dial) -> None:
    add_people(desk_app)
    put_on_duty(desk_app, "olena")
    sofia = sign_in(without_csrf(desk_app), "sofia")

    call, _ = asks_for_an_operator(phone, caller=WAITING_CALLER)
    call.hang_up()
    the_log_is_written(desk_app)

    found = figures(sofia)
    assert found["waiting"] == 0
    assert found["requests_due"] == 1  # the abandoned caller's request, to call back
    assert board_at(desk_app, utcnow()).abandoned_today == 1


def test_a_request_waiting_for_its_next_try_is_not_due_on_the_board(
        desk_app: Flask, phone: Dial) -> None:
    add_people(desk_app)
    put_on_duty(desk_app, "olena")
    sofia = sign_in(without_csrf(desk_app), "sofia")
    call, _ = asks_for_an_operator(phone, caller=WAITING_CALLER)
    call.hang_up()
    the_log_is_written(desk_app)
    with desk_app.app_context():
        request = db.session.scalars(sa.select(CallbackRequest)).one()
        request.next_try_at = utcnow() + timedelta(minutes=30)  # no answer a minute ago
        db.session.commit()

    assert figures(sofia)["requests_due"] == 0


def test_a_caller_whose_steps_were_lost_stops_counting_after_max_wait(
        desk_app: Flask, phone: Dial) -> None:
    add_people(desk_app)
    put_on_duty(desk_app, "olena")
    asks_for_an_operator(phone, caller=WAITING_CALLER)
    the_log_is_written(desk_app)
    with desk_app.app_context():
        [call] = db.session.scalars(sa.select(Call).where(Call.direction == "inbound"))
        joined = call.started_at

        assert board.callers_waiting(db.session(), joined + timedelta(minutes=7), 180)
        assert not board.callers_waiting(db.session(), joined + timedelta(minutes=9), 180)


def test_operators_are_counted_by_what_they_are_doing(desk_app: Flask) -> None:
    add_people(desk_app)
    for login in ("olena", "ivan", "sofia"):
        put_on_duty(desk_app, login)
    olena_client = sign_in(without_csrf(desk_app), "olena")
    olena_client.post("/operators/presence", data={"presence": "break"})
    with desk_app.app_context():
        ivan = db.session.scalars(sa.select(Operator).where(
            Operator.login == "ivan")).one()
        for _ in range(2):
            presence.ring_missed(db.session(), ivan.id, NOON, limit=2)
        db.session.commit()

    found = figures(sign_in(without_csrf(desk_app), "sofia"))

    assert found["operators"] == {"available": 1, "in_call": 0, "in_chat": 0, "wrap_up": 0,
                                  "break": 1, "paused": 1, "signed_off": 0}
    people = {person["name"]: person["state"]
              for person in found["people"]}
    assert people == {"Olena K": "break", "Ivan P": "paused", "Sofia M": "available"}
    assert olena(desk_app).presence == "break"


def test_the_board_tells_no_caller_number_and_no_call(
        desk_app: Flask, phone: Dial) -> None:
    add_people(desk_app)
    put_on_duty(desk_app, "olena")
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    asks_for_an_operator(phone, caller=WAITING_CALLER)
    the_log_is_written(desk_app)
    sofia = sign_in(without_csrf(desk_app), "sofia")

    bodies = [sofia.get(path).get_data(as_text=True) for path in (
        "/operators/board", "/operators/board/figures", "/operators/board/figures.json")]

    assert json.loads(bodies[2])["waiting"] == 1
    for body in bodies:
        digits = re.sub(r"\D", "", body)
        for number in (RUSSIAN_CALLER, WAITING_CALLER, "+380501112233", "+79160001122"):
            assert number[-7:] not in digits, f"{number} on the board"
        assert not re.search(r"CA[0-9a-f]{32}", body), "a call's SID on the board"


def test_the_board_is_for_people_who_signed_in(app: Flask) -> None:
    stranger = app.test_client()

    for path in ("/operators/board", "/operators/board/figures",
                 "/operators/board/figures.json"):
        response = stranger.get(path)
        assert response.status_code == 302
        assert "/operators/login" in response.location


def test_an_operator_may_see_the_board_too(desk_app: Flask) -> None:
    add_people(desk_app, "ivan")

    response = sign_in(without_csrf(desk_app), "ivan").get("/operators/board")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="waiting-total">0<' in page
    assert 'data-poll="/operators/board/figures"' in page  # refreshed by operators.js


def test_today_is_the_desks_day(desk_app: Flask, phone: Dial) -> None:
    """A call abandoned on an earlier day of the desk is not today's."""
    add_people(desk_app)
    put_on_duty(desk_app, "olena")
    call, _ = asks_for_an_operator(phone, caller=WAITING_CALLER)
    call.hang_up()
    the_log_is_written(desk_app)
    today = board_at(desk_app, utcnow())
    days_later = board_at(desk_app, utcnow() + timedelta(days=2))

    assert today.abandoned_today == 1
    assert days_later.abandoned_today == 0


def test_the_board_keeps_working_at_a_fixed_moment_with_nobody_at_the_desk(
        desk_app: Flask) -> None:
    add_people(desk_app, "sofia")
    stop_clock(desk_app, NOON)

    page = sign_in(without_csrf(desk_app), "sofia").get("/operators/board/figures")

    assert page.status_code == 200
    assert "Nobody is at the desk." in page.get_data(as_text=True)


def test_the_board_reads_the_queue_on_postgresql(postgres_app: Flask, twilio: FakeTwilio
                                                 ) -> None:
    stop_clock(postgres_app, NOON)
    add_people(postgres_app, "olena")
    put_on_duty(postgres_app, "olena")
    asks_for_an_operator(phone_for(postgres_app), caller=WAITING_CALLER)
    the_log_is_written(postgres_app)

    found = board_at(postgres_app, NOON)

    assert found.waiting == 1 and found.operators["in_call"] == 1
