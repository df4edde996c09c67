"""The queue's decisions, without HTTP: what a caller hears on the way to an operator, and what
an operator hears before taking the call."""

from __future__ import annotations

import pytest

from ivr import paths
from ivr.menu.plans import (
    Ask,
    DialQueue,
    Enqueue,
    Hangup,
    Leave,
    Plan,
    Redirect,
    Say,
    SayDigits,
    target,
)
from ivr.operators import waiting
from ivr.operators.availability import Availability

MAX_WAIT = 600  # seconds
GONE: list[Availability] = ["surge", "closed", "nobody"]


def offered_request(plan: Plan) -> str | None:
    """The reason the caller is sent to the callback request with, if they are."""
    redirect = plan.steps[-1]
    assert isinstance(redirect, Redirect), plan.steps
    assert redirect.to.path == paths.CALLBACK_REQUEST
    return redirect.to.param("reason")


def music(plan: Plan) -> Ask:
    [ask] = plan.steps
    assert isinstance(ask, Ask), plan.steps
    return ask


# Joining


def test_a_caller_joins_their_languages_queue_when_an_operator_can_answer() -> None:
    plan = waiting.join("uk", "open")

    assert plan.steps == (Say("uk", "queue_joined"),
                          Enqueue("hotline-uk", action=target(paths.QUEUE_LEFT, lang="uk"),
                                  wait=target(paths.QUEUE_WAIT, lang="uk")))
    assert plan.outcome == "operator:queued"


def test_each_language_has_its_own_queue() -> None:
    assert waiting.queue_name("ru") == "hotline-ru"
    assert waiting.queue_name("ru") != waiting.queue_name("uk")


@pytest.mark.parametrize(("availability", "reason"), [
    ("surge", "surge"), ("closed", "out_of_hours"), ("nobody", "no_operator")])
def test_a_caller_nobody_can_answer_hears_why_and_is_offered_a_callback_request(
        availability: Availability, reason: str) -> None:
    plan = waiting.join("ru", availability)

    assert plan.steps == (Say("ru", f"operator_{availability}"),
                          Redirect(target(paths.CALLBACK_REQUEST, lang="ru", reason=reason)))
    assert plan.outcome == f"operator:{availability}"
    assert not any(isinstance(step, Enqueue) for step in plan.steps)


# Waiting


def test_a_waiting_caller_hears_how_to_leave_the_wait_their_place_then_the_music() -> None:
    ask = music(waiting.wait("en", 3, 40, MAX_WAIT, "open", average_wait=150))

    # All inside the <Gather>, where a key works; the way out first.
    assert ask.prompts == (Say("en", "queue_leave_hint"), Say("en", "queue_wait_2"),
                           Say("en", "queue_position"), Say("en", "number_3"),
                           Say("en", "hold_music"))
    assert ask.action == target(paths.QUEUE_KEY, lang="en")


@pytest.mark.parametrize(("position", "words"), [
    (12, ["number_12"]), (20, ["number_20"]), (47, ["number_40", "number_7"]),
    (99, ["number_90", "number_9"])])
def test_a_place_in_the_queue_is_said_as_a_number_in_words(position: int,
                                                           words: list[str]) -> None:
    ask = music(waiting.wait("en", position, 40, MAX_WAIT, "open"))

    said = [speech.prompt for speech in ask.prompts if isinstance(speech, Say)]
    assert said[said.index("queue_position") + 1:-1] == words
    assert not any(isinstance(speech, SayDigits) for speech in ask.prompts)


def test_a_place_past_ninety_nine_is_said_as_many_ahead() -> None:
    ask = music(waiting.wait("ru", 140, 40, MAX_WAIT, "open"))

    assert Say("ru", "queue_position_many") in ask.prompts
    assert Say("ru", "queue_position") not in ask.prompts


@pytest.mark.parametrize(("average", "said"), [
    (1, "queue_wait_0"), (59, "queue_wait_0"), (60, "queue_wait_1"), (89, "queue_wait_1"),
    (90, "queue_wait_2"), (600, "queue_wait_10"), (629, "queue_wait_10"),
    (660, "queue_wait_more"), (4000, "queue_wait_more")])
def test_the_expected_wait_is_said_in_minutes(average: int, said: str) -> None:
    ask = music(waiting.wait("uk", 1, 40, MAX_WAIT, "open", average_wait=average))

    assert ask.prompts[1] == Say("uk", said)


@pytest.mark.parametrize("position", [None, 0])
def test_a_caller_whose_place_is_unknown_hears_only_the_hint_and_the_music(
        position: int | None) -> None:
    ask = music(waiting.wait("uk", position, 40, MAX_WAIT, "open"))

    assert ask.prompts == (Say("uk", "queue_leave_hint"), Say("uk", "hold_music"))


def test_silence_during_the_music_keeps_the_caller_in_the_queue() -> None:
    plan = waiting.wait("uk", 1, 40, MAX_WAIT, "open")

    ask = music(plan)
    assert ask.timeout == 1
    assert ask.redirect_on_silence is False
    assert plan.outcome == "queue:waiting"


def test_when_we_cannot_tell_who_is_on_duty_the_caller_keeps_waiting() -> None:
    plan = waiting.wait("ru", 2, 40, MAX_WAIT, None)

    assert plan.outcome == "queue:waiting"
    assert Leave() not in plan.steps


def test_a_caller_who_waited_too_long_hears_so_and_leaves_the_queue() -> None:
    plan = waiting.wait("ru", 1, MAX_WAIT, MAX_WAIT, "open")

    assert plan.steps == (Say("ru", "queue_too_long"), Leave())
    assert plan.outcome == "queue:too-long"


def test_a_caller_just_under_the_longest_wait_keeps_waiting() -> None:
    assert waiting.wait("ru", 1, MAX_WAIT - 1, MAX_WAIT, "open").outcome == "queue:waiting"


@pytest.mark.parametrize("availability", GONE)
def test_a_waiting_caller_is_told_when_operators_can_no_longer_answer_and_leaves(
        availability: Availability) -> None:
    plan = waiting.wait("uk", 1, 40, MAX_WAIT, availability)

    assert plan.steps == (Say("uk", f"operator_{availability}"), Leave())
    assert plan.outcome == f"queue:{availability}"


def test_any_key_during_the_music_leaves_the_queue() -> None:
    plan = waiting.leave_queue()

    assert plan.steps == (Leave(),)
    assert plan.outcome == "queue:key"


# Out of the queue


@pytest.mark.parametrize("result", waiting.BRIDGED)
def test_a_caller_who_talked_to_an_operator_hears_goodbye(result: str) -> None:
    plan = waiting.left("en", result, 120, MAX_WAIT, None)

    assert plan.steps == (Say("en", "queue_goodbye"), Hangup())
    assert plan.outcome == f"queue:{result}"


def test_a_caller_who_hung_up_while_waiting_is_logged_as_abandoned() -> None:
    plan = waiting.left("en", "hangup", 30, MAX_WAIT, None)

    assert plan.steps == (Hangup(),)
    assert plan.outcome == "queue:abandoned"


@pytest.mark.parametrize(("availability", "reason"), [
    ("surge", "surge"), ("closed", "out_of_hours"), ("nobody", "no_operator")])
def test_a_caller_who_left_because_operators_went_away_is_offered_a_request_saying_why(
        availability: Availability, reason: str) -> None:
    plan = waiting.left("uk", "leave", 30, MAX_WAIT, availability)

    assert offered_request(plan) == reason
    assert plan.outcome == f"queue:leave:{reason}"


def test_a_caller_told_they_waited_too_long_is_offered_a_request_for_that() -> None:
    told = waiting.wait("uk", 1, MAX_WAIT, MAX_WAIT, "open")
    plan = waiting.left("uk", "leave", MAX_WAIT, MAX_WAIT, "open")

    assert Leave() in told.steps
    assert offered_request(plan) == "waited_too_long"


@pytest.mark.parametrize("availability", ["open", None])
def test_a_caller_who_pressed_a_key_to_leave_chose_the_request(
        availability: Availability | None) -> None:
    plan = waiting.left("ru", "leave", 30, MAX_WAIT, availability)

    assert plan.steps == (Redirect(target(paths.CALLBACK_REQUEST, lang="ru", reason="chosen")),)
    assert plan.outcome == "queue:leave:chosen"


@pytest.mark.parametrize("result", ["queue-full", "error", "system-error", ""])
def test_a_caller_the_queue_could_not_hold_is_offered_a_request(result: str) -> None:
    plan = waiting.left("en", result, 0, MAX_WAIT, None)

    assert offered_request(plan) == "no_operator"
    assert plan.outcome == f"queue:{result}:no_operator"


def test_a_caller_being_put_through_hears_so_and_nothing_ends_the_call() -> None:
    plan = waiting.connecting("ru")

    assert plan.steps == (Say("ru", "queue_connecting"),)


# On the operator's phone


def test_an_operator_hears_the_callers_language_and_is_asked_to_take_the_call() -> None:
    plan = waiting.whisper("uk", 42)

    assert plan.steps == (Ask((Say("uk", "operator_whisper"),),
                              target(paths.OPERATOR_ACCEPT, ring=42), timeout=8),)
    assert plan.outcome == "operator:whisper"


def test_an_operator_who_accepts_is_put_through_to_a_caller_of_that_language() -> None:
    plan = waiting.accepted("uk", 42)

    assert plan.steps == (DialQueue("hotline-uk", timeout=10,
                                    action=target(paths.OPERATOR_DONE, ring=42),
                                    announce=target(paths.QUEUE_CONNECT, lang="uk")),)
    assert plan.outcome == "operator:accepted"


def test_an_operator_dials_the_very_queue_the_caller_joined() -> None:
    [_, enqueue] = waiting.join("ru", "open").steps
    [dial] = waiting.accepted("ru", 7).steps

    assert isinstance(enqueue, Enqueue) and isinstance(dial, DialQueue)
    assert dial.queue == enqueue.queue


def test_an_operator_who_does_not_accept_is_hung_up_on() -> None:
    plan = waiting.not_accepted()

    assert plan.steps == (Hangup(),)
    assert plan.outcome == "operator:not-accepted"


def test_an_operator_who_accepts_after_the_caller_has_gone_is_told_so() -> None:
    plan = waiting.no_caller("en")

    assert plan.steps == (Say("en", "operator_no_caller"), Hangup())
    assert plan.outcome == "operator:no-caller"


def test_before_anyone_has_waited_no_wait_is_promised() -> None:
    ask = music(waiting.wait("en", 1, 0, MAX_WAIT, "open", average_wait=0))

    assert not any(isinstance(speech, Say) and speech.prompt.startswith("queue_wait")
                   for speech in ask.prompts)
