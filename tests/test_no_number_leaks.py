"""A caller's number is never in plain text anywhere we keep things: after a full set of calls,
the logs, the database file and the spool are searched for every number used, in every spelling,
and none is found."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from ivr.twilio.phone_simulator import Phone
from tests.fake_twilio import FakeTwilio
from tests.support import hotline_of, stored_calls
from tests.test_callback_requests import break_table, mend_table
from tests.test_reaching_an_operator import OLENA, on_duty, operator_phone

Dial = Callable[..., Phone]
CONFIRMS_CALLER_ID = "+380501234567"
TYPES_A_NUMBER = "+79161234567"
HANGS_UP_IN_THE_QUEUE = "+380661234567"
SPOOLED = "+380931234567"


def spellings(number: str) -> list[bytes]:
    """The ways a number could slip out: E.164, without +, and its national digits."""
    digits = number.lstrip("+")
    return [spelling.encode() for spelling in (number, digits, digits[-9:])]


def everything_kept(app: Flask) -> bytes:
    database = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    files = [*database.parent.glob(database.name + "*"),
             *hotline_of(app).callback_requests.spool.directory.glob("*")]
    return b"".join(path.read_bytes() for path in files if path.is_file())


def test_no_number_of_a_full_day_of_calls_is_kept_in_plain_text(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio,
        capfd: pytest.CaptureFixture[str]) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    # Confirms the caller ID and leaves a message.
    call = phone(caller=CONFIRMS_CALLER_ID)
    call.dial()
    call.press("3")
    call.press("2")
    for key in "121":
        call.press(key)
    call.record(seconds=9)
    call.recording_ready()
    call.hang_up()
    # Withheld caller ID: types a number, which is read back.
    typed = phone(caller="anonymous")
    typed.dial()
    typed.press("1")
    typed.press("2")
    typed.press(TYPES_A_NUMBER.lstrip("+") + "#")
    typed.press("1")
    typed.hang_up()  # during the questions: kept as abandoned
    # Waits for an operator, who is rung and hears the whisper, then hangs up in the queue.
    waiting = phone(caller=HANGS_UP_IN_THE_QUEUE)
    waiting.dial()
    waiting.press("2")
    waiting.press("1")
    olena = operator_phone(desk_app, twilio.placed[0])
    olena.answer(twilio.placed[0]["Url"])
    waiting.hang_up()
    olena.press("1")
    # The database is away while this one is saved: it waits in the spool.
    spooled = phone(caller=SPOOLED)
    spooled.dial()
    spooled.press("2")
    spooled.press("2")
    spooled.press("1")
    break_table(desk_app)
    spooled.press("1")
    spooled.press("1")
    spooled.record(seconds=3)
    stored_calls(desk_app)

    logged = capfd.readouterr()
    kept = everything_kept(desk_app)
    mend_table(desk_app)

    assert hotline_of(desk_app).callback_requests.spool.waiting() > 0
    assert "•" in logged.err  # the logs were read, and show numbers masked
    for number in (CONFIRMS_CALLER_ID, TYPES_A_NUMBER, HANGS_UP_IN_THE_QUEUE, SPOOLED, OLENA):
        for spelling in spellings(number):
            assert spelling not in kept, f"{spelling!r} kept in plain text"
            assert spelling.decode() not in logged.err + logged.out, f"{spelling!r} logged"
