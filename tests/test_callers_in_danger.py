"""Someone phoning from a trench or from hiding may have a minute: every way the journey could
lose them is closed. A caller whose number we know is called back whenever they hang up; a
caller who presses nothing reaches a human or leaves a request; a withheld caller who types
their number as they dial it at home is understood, and never left at a dead end."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

from ivr import phones
from ivr.database import db
from ivr.models import CallbackRequest
from ivr.twilio.phone_simulator import Phone
from tests.fake_twilio import FakeTwilio
from tests.support import CALLER, hotline_of, prompts, signed_post, twilio_params
from tests.test_callback_requests import digits_heard, told
from tests.test_reaching_an_operator import OLENA, asks_for_an_operator, on_duty, operator_phone

Dial = Callable[..., Phone]
NIGHT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # every language's operators are closed
UKRAINIAN = "+380501234567"


def requests_of(app: Flask) -> list[CallbackRequest]:
    with app.app_context():
        return list(db.session.scalars(sa.select(CallbackRequest)))


def number_of(app: Flask, request: CallbackRequest) -> str:
    return hotline_of(app).vault.decrypt(request.number)


def presses_1_then_hangs_up_during_the_next_prompt(app: Flask) -> list[tuple[str, str]]:
    """Main menu 1, then the caller is gone before the prompt that follows has ended: Twilio
    never fetches what comes after it, and reports the call completed."""
    client = app.test_client()
    answer = signed_post(client, "/voice/operator?lang=ru", twilio_params())
    answer.close()  # as a WSGI server does, running what waits for the response to end
    played = [urlsplit(play.text or "").path.split("/")[-2:]
              for play in ET.fromstring(answer.get_data(as_text=True)).iter("Play")]
    said = [(lang, file_name.rsplit(".", 1)[0]) for lang, file_name in played]
    signed_post(client, "/voice/status", twilio_params(CallStatus="completed",
                                                      CallDuration="20"))
    return said


@pytest.mark.parametrize("situation", ["queue_joined", "operator_nobody", "operator_closed"])
def test_a_caller_who_hangs_up_right_after_pressing_1_is_called_back(
        desk_app: Flask, twilio: FakeTwilio, situation: str) -> None:
    if situation == "queue_joined":
        on_duty(desk_app, "ivan", "+79160001122", "ru")
    if situation == "operator_closed":
        hotline_of(desk_app).clock.fixed = NIGHT

    said = presses_1_then_hangs_up_during_the_next_prompt(desk_app)

    assert said[0] == ("ru", situation)
    [request] = requests_of(desk_app)
    assert number_of(desk_app, request) == CALLER
    assert (request.reason, request.priority, request.number_confirmed) == ("queue_hangup", 1,
                                                                           False)


def test_a_caller_put_through_to_an_operator_is_not_called_back_afterwards(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    call, _ = asks_for_an_operator(phone)
    [placed] = twilio.placed
    olena = operator_phone(desk_app, placed)
    olena.answer(placed["Url"])
    olena.press("1")
    call.put_through(olena)
    call.conversation_ends(olena)

    call.hang_up()

    assert requests_of(desk_app) == []  # she talked to someone: nobody owes her a call


def test_the_operators_phone_rings_the_moment_the_caller_joins(
        desk_app: Flask, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")

    answer = signed_post(desk_app.test_client(), "/voice/operator?lang=uk",
                         twilio_params(From=UKRAINIAN))
    answer.close()

    # Before Twilio has even fetched the wait music.
    assert [placed["To"] for placed in twilio.placed] == [OLENA]
    assert "<Enqueue" in answer.get_data(as_text=True)


def test_the_way_out_of_the_queue_is_said_where_a_key_works(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    _, heard = asks_for_an_operator(phone)

    joined, *in_the_queue = prompts(heard)
    assert joined == ("uk", "queue_joined")  # before <Enqueue>, no keys work: no hint there
    assert in_the_queue[0] == ("uk", "queue_leave_hint")  # inside the wait music's <Gather>


@pytest.mark.parametrize("hidden", [
    "anonymous", "Restricted", "UNKNOWN", "blocked", "unavailable", "private",
    "+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253"])
def test_a_hidden_caller_id_is_never_a_number_we_would_ring(hidden: str) -> None:
    assert phones.normalise(hidden) is None
    assert phones.calling_code(hidden) is None


def test_a_caller_with_a_keypad_spelt_hidden_id_is_asked_to_type_a_number(phone: Dial) -> None:
    call = phone(caller="+7378742833")  # RESTRICTED, spelt on a keypad: not a Russian number
    call.dial()
    call.press("1")

    assert prompts(call.press("2")) == [("ru", "callback_enter")]


@pytest.mark.parametrize(("typed", "read_back"), [
    ("89161234567", "79161234567"),  # a Russian mobile, with the trunk 8
    ("0501234567", "380501234567"),  # a Ukrainian mobile
    ("0441234567", "380441234567"),  # Kyiv
    ("80291234567", "375291234567"),  # a Belarusian mobile, with the trunk 8 0
])
def test_a_withheld_caller_may_type_their_number_as_they_dial_it_at_home(
        app: Flask, phone: Dial, typed: str, read_back: str) -> None:
    call = phone(caller="anonymous")
    call.dial()
    call.press("1")
    call.press("2")

    heard = call.press(f"{typed}#")

    assert digits_heard(heard, "callback_entered", "callback_entered_keys") == read_back
    saved = call.press("1")
    [request] = requests_of(app)
    assert number_of(app, request) == "+" + read_back
    assert request.reference == told(saved)


def test_three_numbers_that_cannot_be_called_lead_to_an_operator_if_one_is_free(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "ivan", "+79160001122", "ru")
    call = phone(caller="anonymous")
    call.dial()
    call.press("1")
    call.press("2")
    call.press("12#")
    call.press("34#")

    heard = call.press("56#")

    assert prompts(heard)[:2] == [("ru", "callback_number_failed_operator"),
                                  ("ru", "queue_joined")]
    assert call.queued is not None


def test_a_caller_who_presses_nothing_reaches_an_operator_when_one_is_free(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    call = phone(caller=UKRAINIAN)
    call.dial()

    call.wait()  # the language menu: Ukrainian, their likely language
    call.wait()  # the main menu, then its options once more
    heard = call.wait()

    assert prompts(heard)[:2] == [("uk", "no_choice"), ("uk", "queue_joined")]
    assert call.queued is not None
    assert [placed["To"] for placed in twilio.placed] == [OLENA]


def test_a_caller_who_presses_nothing_with_nobody_free_leaves_a_request(
        desk_app: Flask, phone: Dial) -> None:
    call = phone(caller=UKRAINIAN)
    call.dial()
    call.wait()
    call.wait()
    call.wait()  # to the operator: nobody is on duty, so to the request

    heard = call.wait()  # the number is not confirmed: kept at once

    assert prompts(heard)[0] == ("uk", "callback_saved")
    [request] = requests_of(desk_app)
    assert request.reference == told(heard)
    assert (number_of(desk_app, request), request.number_confirmed) == (UKRAINIAN, False)
