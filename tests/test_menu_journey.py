"""The menu's decisions, without HTTP: where a caller goes after each key or silence."""

from __future__ import annotations

import pytest

from ivr import paths
from ivr.menu import journey
from ivr.menu.journey import Where, enter_target, input_target
from ivr.menu.menu_file import Menu, load_menu
from ivr.menu.plans import Ask, Hangup, Redirect, Say, target
from ivr.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def menu() -> Menu:
    return load_menu(PROJECT_ROOT / "prompts" / "menu.yaml")


def test_position_in_the_url_is_read_forgivingly(menu: Menu) -> None:
    assert journey.where_from(menu, {"node": "main", "lang": "uk", "try": "2"}) == Where(
        "main", "uk", 2)
    assert journey.where_from(menu, {"node": "main", "lang": "xx"}) == Where("language")
    assert journey.where_from(menu, {"node": "../etc", "lang": "ru"}) == Where("language", "ru")
    assert journey.where_from(menu, {"node": "main", "lang": "ru", "try": "77"}).attempt == 3
    assert journey.where_from(menu, {"node": "main", "lang": "ru", "err": "-4"}).errors == 0


def test_choosing_a_language_settles_it_and_asks_the_main_menu(menu: Menu) -> None:
    plan = journey.answer(menu, Where("language"), "2", calling_code=None)

    assert plan.language == "uk"
    assert plan.outcome == "language:uk"
    [ask] = plan.steps
    assert isinstance(ask, Ask)
    assert ask.action == input_target(Where("main", "uk"))
    assert ask.prompts[0] == Say("uk", "main_intro")


def test_message_then_back_to_the_menu_in_one_answer(menu: Menu) -> None:
    plan = journey.answer(menu, Where("main", "ru"), "3", calling_code="7")

    assert plan.steps[0] == Say("ru", "about")
    assert isinstance(plan.steps[1], Ask)
    assert plan.steps[1].action == input_target(Where("main", "ru"))


def test_a_second_silence_at_the_main_menu_goes_to_a_human(menu: Menu) -> None:
    plan = journey.answer(menu, Where("main", "en", attempt=2), None, calling_code=None)

    assert plan.steps == (Say("en", "no_choice"), Redirect(target(paths.OPERATOR, lang="en")))
    assert plan.outcome == "fallback:operator"


def test_a_first_silence_at_the_main_menu_plays_the_options_again_not_the_intro(
        menu: Menu) -> None:
    plan = journey.answer(menu, Where("main", "en"), None, calling_code=None)

    [ask] = plan.steps
    assert isinstance(ask, Ask)
    assert [said.prompt for said in ask.prompts if isinstance(said, Say)] == [
        "option_operator", "option_callback", "option_about", "option_language"]
    assert ask.action.param("try") == "2"


def test_wrong_keys_to_the_end_say_so_and_not_that_nothing_was_heard(menu: Menu) -> None:
    plan = journey.answer(menu, Where("main", "en", attempt=3), "9", calling_code=None)

    assert plan.steps == (Say("en", "invalid_option"), Redirect(target(paths.OPERATOR, lang="en")))


def test_one_silence_at_the_language_menu_goes_on_in_the_likely_language(menu: Menu) -> None:
    plan = journey.answer(menu, Where("language"), None, calling_code="380")

    assert plan.steps[0] == Say("uk", "continuing_in_language")
    assert plan.language == "uk"


def test_errors_are_retried_then_end_politely(menu: Menu) -> None:
    first = journey.apologise(menu, Where("main", "ru"), None)
    last = journey.apologise(menu, Where("main", "ru", errors=2), None)

    assert first.steps == (Say("ru", "sorry_error"),
                           Redirect(enter_target(Where("main", "ru", errors=1))))
    assert last.steps == (Say("ru", "technical_trouble"), Hangup())


def test_language_offer_follows_the_callers_country(menu: Menu) -> None:
    assert menu.language_order("380") == ("uk", "ru", "en")
    assert menu.language_order("7") == ("ru", "uk", "en")
    assert menu.language_order("44") == ("ru", "uk", "en")
    assert menu.likely_language("380") == "uk"
    assert menu.likely_language(None) == "en"
