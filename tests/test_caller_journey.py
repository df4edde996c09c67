"""A caller's journey through the menus, told through a phone that calls like Twilio does."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from ivr.settings import PROJECT_ROOT
from ivr.twilio.phone_simulator import Phone
from tests.conftest import phone_for
from tests.support import prompts, signed_post, twilio_params

MAIN_MENU = ["main_intro", "option_operator", "option_callback", "option_about",
             "option_language"]
Dial = Callable[..., Phone]


def main_menu(lang: str) -> list[tuple[str, str]]:
    return [(lang, prompt) for prompt in MAIN_MENU]


def options_again(lang: str) -> list[tuple[str, str]]:
    """The main menu once more after a silence or a wrong key: the options, not the intro."""
    return [(lang, prompt) for prompt in MAIN_MENU[1:]]


def no_operator(said: tuple[str | None, str | None], lang: str) -> bool:
    """Nobody is on duty in these stories; out of hours, the line says that instead."""
    return said in ((lang, "operator_nobody"), (lang, "operator_closed"))


def test_caller_hears_each_language_offered_in_that_language(phone: Dial) -> None:
    caller = phone(caller="+441632960961")

    heard = caller.dial()

    assert prompts(heard) == [("ru", "language_option"), ("uk", "language_option"),
                              ("en", "language_option")]
    assert caller.listening


def test_caller_from_ukraine_hears_ukrainian_offered_first(phone: Dial) -> None:
    caller = phone(caller="+380501234567")

    assert prompts(caller.dial())[0] == ("uk", "language_option")
    # The keys never move: 2 is still Ukrainian.
    assert prompts(caller.press("2")) == main_menu("uk")


@pytest.mark.parametrize(("key", "lang"), [("1", "ru"), ("2", "uk"), ("3", "en")])
def test_caller_chooses_a_language_and_hears_the_main_menu_in_it(
        phone: Dial, key: str, lang: str) -> None:
    caller = phone()
    caller.dial()

    heard = caller.press(key)

    assert prompts(heard) == main_menu(lang)
    assert all(item.kind == "play" for item in heard)  # every prompt downloaded as audio


@pytest.mark.parametrize(("key", "lang"), [("1", "ru"), ("2", "uk"), ("3", "en")])
def test_walk_through_the_main_menu_options_that_stay_in_it(phone: Dial, key: str,
                                                            lang: str) -> None:
    caller = phone()
    caller.dial()
    caller.press(key)

    assert prompts(caller.press("3")) == [(lang, "about"), *main_menu(lang)]
    assert prompts(caller.press("0")) == main_menu(lang)
    assert prompts(caller.press("*"))[:3] == [("ru", "language_option"),
                                              ("uk", "language_option"),
                                              ("en", "language_option")]


def test_caller_who_presses_nothing_hears_the_options_again_then_is_taken_to_a_human(
        phone: Dial) -> None:
    caller = phone()
    caller.dial()
    first = caller.press("3")

    second = caller.wait()
    routed = caller.wait()

    assert prompts(first) == main_menu("en")
    assert prompts(second) == options_again("en")
    # What happens next is said, then the menu file's fallback: an operator if one is free,
    # else (nobody is on duty here) the callback request with the caller's own number.
    assert prompts(routed)[0] == ("en", "no_choice")
    assert no_operator(prompts(routed)[1], "en")
    assert prompts(routed)[2] == ("en", "callback_confirm")
    assert caller.listening


def test_caller_who_presses_a_wrong_key_hears_that_it_is_not_an_option(phone: Dial) -> None:
    caller = phone()
    caller.dial()
    caller.press("1")

    heard = caller.press("9")

    assert prompts(heard) == [("ru", "invalid_option"), *options_again("ru")]
    assert prompts(caller.press("3")) == [("ru", "about"), *main_menu("ru")]


def test_caller_who_keeps_pressing_wrong_keys_is_not_kept_in_a_loop(phone: Dial) -> None:
    caller = phone()
    caller.dial()
    caller.press("2")

    caller.press("#")
    caller.press("7")
    routed = caller.press("8")

    # Said what happened (a wrong key), not "we did not hear a choice"; then a human, or
    # (nobody on duty) a request.
    assert prompts(routed)[0] == ("uk", "invalid_option")
    assert no_operator(prompts(routed)[1], "uk")
    assert prompts(routed)[2] == ("uk", "callback_confirm")


def test_wrong_key_at_the_language_menu_is_explained_in_every_language(phone: Dial) -> None:
    caller = phone()
    caller.dial()

    heard = caller.press("9")

    assert prompts(heard)[:3] == [("ru", "invalid_option"), ("uk", "invalid_option"),
                                  ("en", "invalid_option")]
    assert prompts(heard)[3:] == [("ru", "language_option"), ("uk", "language_option"),
                                  ("en", "language_option")]


def test_silent_caller_at_the_language_menu_goes_on_in_their_likely_language(
        phone: Dial) -> None:
    caller = phone(caller="+380501234567")
    caller.dial()

    routed = caller.wait()  # one silence is enough: someone in danger may not press at all

    assert prompts(routed) == [("uk", "continuing_in_language"), *main_menu("uk")]
    assert caller.listening


def test_silent_withheld_caller_goes_on_in_the_default_language(phone: Dial) -> None:
    caller = phone(caller="anonymous")
    caller.dial()

    assert prompts(caller.wait()) == [("en", "continuing_in_language"), *main_menu("en")]


def test_caller_can_choose_another_language_from_the_main_menu(phone: Dial) -> None:
    caller = phone()
    caller.dial()
    caller.press("3")
    caller.press("*")

    assert prompts(caller.press("1")) == main_menu("ru")


def test_ukrainian_callers_hear_twilios_ukrainian_voice_until_people_record_the_prompts(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(PROMPTS_DIR=str(PROJECT_ROOT / "prompts"))  # the menu as shipped
    caller = phone_for(app)(caller="+380501234567")
    caller.dial()

    heard = caller.press("2")
    answer = signed_post(app.test_client(), "/voice/menu/input?node=language&try=1",
                         twilio_params(Digits="2"))

    assert heard and all((item.kind, item.lang) == ("say", "uk") for item in heard)
    assert '<Say language="uk-UA" voice="Google.uk-UA-Wavenet-A">' in answer.get_data(
        as_text=True)
    assert "<Play>" not in answer.get_data(as_text=True)
