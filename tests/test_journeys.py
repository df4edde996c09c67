"""`make journeys` measures what a caller in danger goes through: how long they listen, how
many keys they press, and whether they end with a human or a stored request."""

from __future__ import annotations

import io
import random
import wave
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from bench.calls import new_caller
from bench.journeys import (
    JOURNEYS,
    Journey,
    Row,
    Walk,
    answer_to,
    stored_in,
    table,
    verdict,
    walk,
)
from bench.webhooks import PREFIXES
from ivr.database import db
from ivr.operators import accounts
from ivr.twilio.phone_simulator import Heard, NotTimed, Phone, say_seconds, seconds_heard
from ivr.twilio.trial_call import saved_reference
from tests.fake_twilio import FakeTwilio
from tests.support import hotline_of

Dial = Callable[..., Phone]
JOURNEY = {journey.name: journey for journey in JOURNEYS}


def a_wav(path: Path, seconds: float, rate: int = 8000) -> None:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(rate)
        audio.writeframes(b"\x00\x00" * int(rate * seconds))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def played(lang: str, prompt: str) -> Heard:
    return Heard("play", lang, prompt=prompt,
                 url=f"https://ivr.example.org/prompts/{lang}/{prompt}.wav?v=abc")


def said(text: str) -> Heard:
    return Heard("say", "en", text=text)


def test_a_say_is_timed_at_fourteen_characters_a_second() -> None:
    assert say_seconds("") == 0
    assert say_seconds("x" * 14) == 1
    assert say_seconds("Please hold.") == pytest.approx(12 / 14)


def test_the_seconds_heard_add_up_each_recording_and_each_say(tmp_path: Path) -> None:
    a_wav(tmp_path / "en" / "main_intro.wav", 2.5)
    a_wav(tmp_path / "en" / "digit_4.wav", 0.5, rate=16000)

    heard = [played("en", "main_intro"), said("x" * 21), played("en", "digit_4"),
             played("en", "digit_4")]

    assert seconds_heard(heard, tmp_path) == pytest.approx(2.5 + 1.5 + 0.5 + 0.5)
    assert seconds_heard([], tmp_path) == 0


def test_a_recording_that_cannot_be_timed_is_named(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "about.wav").write_bytes(b"ID3 not a wave file")

    with pytest.raises(NotTimed, match=r"about\.wav"):
        seconds_heard([played("en", "about")], tmp_path)
    with pytest.raises(NotTimed, match=r"missing\.wav"):
        seconds_heard([played("en", "missing")], tmp_path)


@pytest.mark.parametrize(("heard", "main_key", "key"), [
    (["language_option", "language_option", "language_option"], "1", "3"),
    (["continuing_in_language", "main_intro", "option_operator", "option_language"], "2", "2"),
    (["invalid_option", "option_operator", "option_callback"], "1", "1"),
    (["operator_nobody", "callback_confirm", "digit_6", "digit_7", "callback_confirm_keys"],
     "1", "1"),
    (["callback_identify"], "1", None),  # not a question the caller answers: it times out
    (["language_option"], None, None),  # a caller who presses nothing at all
    (["callback_confirm", "digit_6", "digit_7", "callback_confirm_keys"], None, None),
])
def test_the_caller_answers_the_latest_question_heard(heard: list[str], main_key: str | None,
                                                      key: str | None) -> None:
    assert answer_to([played("en", prompt) for prompt in heard], "3", main_key) == key


def test_the_reference_is_the_digits_after_saved() -> None:
    heard = [played("en", prompt) for prompt in (
        "callback_confirm", "digit_6", "callback_saved", "digit_4", "digit_8", "digit_3",
        "callback_saved_more", "callback_identify")]

    assert saved_reference(heard) == ("483", 6)
    assert saved_reference(heard[:3]) is None  # "saved" with no number is not "saved"


def test_a_goal_is_met_only_by_its_ending_within_its_presses_and_seconds() -> None:
    operator = JOURNEY["operator"]

    assert verdict(operator, Walk(2, 19.9, 0, 4, "queue")) == (True, "")
    assert verdict(operator, Walk(3, 20.5, 5, 6, "queue")) == (
        False, "3 presses > 2; 20.5 s > 20 s")
    assert verdict(operator, Walk(2, 10, 0, 4, "saved", "123456", True)) == (
        False, "ended saved 123456, stored")
    # A silent caller's 60 s include the timeouts they sat through.
    silent = JOURNEY["silent-nobody"]
    assert verdict(silent, Walk(0, 40, 15, 7, "saved", "123456", True)) == (True, "")
    assert verdict(silent, Walk(0, 40, 25, 7, "saved", "123456", True)) == (
        False, "65.0 s > 60 s")
    assert verdict(silent, Walk(0, 40, 5, 7, "saved", "123456", False))[0] is False


def test_the_table_says_what_was_lost_and_how_many_goals_were_met() -> None:
    rows = [Row(JOURNEY["operator"], "ru", Walk(2, 12.0, 0, 4, "queue")),
            Row(JOURNEY["callback"], "uk", Walk(3, 30.0, 0, 6, "saved", "123456", True)),
            Row(JOURNEY["nobody"], "en", Walk(3, 20.0, 0, 6, "saved", "654321", False)),
            Row(JOURNEY["silent"], "en", Walk(0, 50.0, 30, 9, "lost",
                                              last_heard="hung up after [en] no_choice"))]

    lines = table(rows)

    assert lines[0].split() == ["journey", "lang", "presses", "prompts", "timeouts", "trips",
                                "ended", "goal"]
    assert "in the queue" in lines[1] and "✓" in lines[1]
    assert "saved 123456, stored" in lines[2] and "✗" in lines[2] and "30.0 s > 25 s" in lines[2]
    assert "saved 654321, NOT STORED" in lines[3]
    assert "LOST (hung up after [en] no_choice)" in lines[4]
    assert lines[-1] == ("goals met: 1 of 4; calls that ended with neither the queue nor a "
                         "stored request: 2")


def test_each_caller_calls_from_a_country_of_their_language() -> None:
    used: set[str] = set()
    rng = random.Random(12)

    callers = [new_caller(PREFIXES[lang], rng, used)
               for lang in ("ru", "uk", "en") for _ in range(20)]

    assert len(set(callers)) == 60
    assert [caller[:4] for caller in callers[::20]] == ["+791", "+380", "+447"]


def on_duty(app: Flask, login: str = "anna") -> None:
    with app.app_context():
        accounts.add_operator(db.session(), hotline_of(app).vault, login=login, name=login,
                              phone="+380501112233", languages=["ru", "uk", "en"],
                              known_languages=("ru", "uk", "en"), role="operator",
                              password="a long enough password")
        accounts.set_duty(db.session(), login, True)
        db.session.commit()


def walk_in_english(app: Flask, phone: Dial, journey: Journey) -> tuple[Walk, Phone]:
    call = phone(caller=new_caller(PREFIXES["en"], random.Random(), set()))
    with app.app_context():
        stored = stored_in(db.engine)
    return walk(call, journey, "3", hotline_of(app).settings.prompts_dir, stored), call


def test_a_caller_who_asks_for_an_operator_stops_in_the_queue(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app)

    result, call = walk_in_english(desk_app, phone, JOURNEY["operator"])

    assert (result.ending, result.presses, result.timeout_seconds) == ("queue", 2, 0)
    assert call.queued is None and call.hung_up  # hung up at the goal
    before_the_queue = call.heard[:[item.prompt for item in call.heard].index("queue_joined") + 1]
    prompts_dir = hotline_of(desk_app).settings.prompts_dir
    assert result.prompt_seconds == pytest.approx(seconds_heard(before_the_queue, prompts_dir))
    # At least: the dial, two keys, the first round of the wait music (and any redirects).
    assert result.round_trips >= 4


def test_a_caller_who_asks_to_be_called_back_hears_a_stored_number(
        desk_app: Flask, phone: Dial) -> None:
    result, _ = walk_in_english(desk_app, phone, JOURNEY["callback"])

    assert (result.ending, result.presses, result.stored) == ("saved", 3, True)
    assert result.reference is not None and len(result.reference) == 6
    assert result.prompt_seconds > 0


def test_a_caller_who_presses_nothing_with_nobody_on_duty_is_kept(
        desk_app: Flask, phone: Dial) -> None:
    result, call = walk_in_english(desk_app, phone, JOURNEY["silent-nobody"])

    assert (result.ending, result.presses, result.stored) == ("saved", 0, True)
    assert result.timeout_seconds > 0 and result.timeout_seconds == call.timeouts_waited
    assert result.kept


def test_a_request_heard_as_saved_but_not_in_the_database_is_not_kept(
        desk_app: Flask, phone: Dial) -> None:
    call = phone(caller=new_caller(PREFIXES["en"], random.Random(), set()))

    result = walk(call, JOURNEY["callback"], "3", hotline_of(desk_app).settings.prompts_dir,
                  lambda call_sid, reference: False)

    assert result.ending == "saved" and not result.kept
    assert "NOT STORED" in result.describe_ending()
