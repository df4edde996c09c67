"""The callback request's questions, without HTTP or a database: which number, whether we may
say who we are, when it is safe to call, and a message; and the caller's place in the URL."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.fernet import Fernet

from ivr import paths
from ivr.callback_requests import questions
from ivr.callback_requests.questions import Amend, Capture, Decision, Next, NoNumber, Store
from ivr.menu.menu_file import Menu, load_menu
from ivr.menu.plans import Ask, Hangup, Plan, Record, Redirect, Say, SayDigits, Target, target
from ivr.phones import PhoneVault
from ivr.settings import DEV_PHONE_ENCRYPTION_KEY, DEV_PHONE_HASH_KEY, PROJECT_ROOT

CALLER = "+380501234567"  # a Ukrainian mobile, as Twilio sends a caller ID
TYPED_NATIONALLY = "0501234567"
UKRAINE = ("UA",)
BASE = "https://ivr.example.org"


@pytest.fixture(scope="module")
def menu() -> Menu:
    return load_menu(PROJECT_ROOT / "prompts" / "menu.yaml")


@pytest.fixture(scope="module")
def vault() -> PhoneVault:
    return PhoneVault((DEV_PHONE_ENCRYPTION_KEY,), DEV_PHONE_HASH_KEY)


def at(step: str, attempt: int = 1, number: str | None = CALLER, source: str = "caller_id",
       confirmed: bool = False, identify: bool | None = None,
       window: str | None = None) -> Capture:
    """A Ukrainian caller who chose the callback request, at one of its questions."""
    return Capture("uk", "chosen", step=step, attempt=attempt, number=number,
                   source=source if number else None, confirmed=confirmed, identify=identify,
                   window=window)


def going_on(decision: Decision) -> Next:
    assert isinstance(decision, Next), decision
    return decision


def amended(decision: Decision) -> Amend:
    assert isinstance(decision, Amend), decision
    return decision


def plan_of(decision: Decision) -> Plan | None:
    return decision.plan if isinstance(decision, Next | Amend) else None


def question(plan: Plan) -> Ask:
    """The question the caller hears last: the Ask that ends the plan."""
    ask = plan.steps[-1]
    assert isinstance(ask, Ask), plan.steps
    return ask


def place(ask: Ask, vault: PhoneVault, menu: Menu) -> Capture:
    """Where the caller's answer will take them, as the next webhook will read it."""
    assert ask.action.path == paths.CALLBACK_REQUEST_INPUT
    return questions.capture_from(menu, dict(ask.action.params), vault)


def prompt_ids(plan: Plan) -> list[str]:
    """Every prompt a caller hears in the plan, in order, including inside a question."""
    heard: list[str] = []
    for step in plan.steps:
        speech = step.prompts if isinstance(step, Ask) else (step,)
        heard += [item.prompt for item in speech if isinstance(item, Say)]
    return heard


# Which number


def test_a_caller_who_withholds_their_number_is_asked_to_type_one(
        menu: Menu, vault: PhoneVault) -> None:
    decision = going_on(questions.begin(Capture("uk", "surge"), None, vault))

    assert decision.keep is None
    ask = question(decision.plan)
    assert ask.prompts == (Say("uk", "callback_enter"),)
    assert (ask.num_digits, ask.finish_on_key) == (15, "#")
    assert place(ask, vault, menu) == Capture("uk", "surge", step="enter")


def test_a_caller_whose_number_we_see_is_asked_to_confirm_its_last_two_digits(
        menu: Menu, vault: PhoneVault) -> None:
    decision = going_on(questions.begin(Capture("uk", "chosen"), CALLER, vault))

    assert decision.plan.steps == (Ask(
        (Say("uk", "callback_confirm"), SayDigits("uk", "67"), Say("uk", "callback_confirm_keys")),
        question(decision.plan).action, timeout=6),)
    assert decision.keep == at("confirm")
    assert place(question(decision.plan), vault, menu) == at("confirm")


def test_pressing_1_confirms_the_number_and_stores_the_request_at_once(
        vault: PhoneVault) -> None:
    decision = questions.answer(at("confirm"), "1", UKRAINE, vault)

    # Stored now; whether we may say who we are is the first optional question after.
    assert decision == Store(at("identify", confirmed=True))


def test_once_saved_the_caller_hears_the_reference_may_hang_up_or_answer_more(
        menu: Menu, vault: PhoneVault) -> None:
    plan = questions.saved(at("identify", confirmed=True), "424242", vault)

    assert plan.steps[:3] == (Say("uk", "callback_saved"), SayDigits("uk", "424242"),
                              Say("uk", "callback_saved_more"))
    assert prompt_ids(plan)[-1] == "callback_identify"
    assert place(question(plan), vault, menu) == at("identify", confirmed=True)
    assert plan.private is True


def test_pressing_2_forgets_the_number_we_saw_and_asks_for_another(
        menu: Menu, vault: PhoneVault) -> None:
    decision = going_on(questions.answer(at("confirm"), "2", UKRAINE, vault))

    assert decision.forget_number is True
    assert decision.keep is None
    assert prompt_ids(decision.plan) == ["callback_enter"]
    assert question(decision.plan).action.param("n") is None
    assert place(question(decision.plan), vault, menu) == at("enter", number=None)


def test_a_caller_who_says_nothing_is_kept_at_once_with_the_number_they_called_from(
        vault: PhoneVault) -> None:
    decision = questions.answer(at("confirm"), None, UKRAINE, vault)

    # They may not be able to press or speak: one silence is enough, never confirmed.
    assert decision == Store(at("identify", confirmed=False))


def test_a_caller_who_presses_wrong_keys_three_times_is_kept_too(vault: PhoneVault) -> None:
    decision = questions.answer(at("confirm", attempt=3), "7", UKRAINE, vault)

    assert decision == Store(at("identify", confirmed=False))


def test_a_wrong_key_is_called_out_before_the_same_question_again(
        menu: Menu, vault: PhoneVault) -> None:
    decision = going_on(questions.answer(at("confirm"), "7", UKRAINE, vault))

    assert decision.plan.outcome == "callback:again"
    assert decision.plan.steps[0] == Say("uk", "invalid_option")
    assert prompt_ids(decision.plan)[1:] == ["callback_confirm", "callback_confirm_keys"]
    assert place(question(decision.plan), vault, menu) == at("confirm", attempt=2)


def test_a_caller_whose_number_was_lost_on_the_way_is_asked_to_type_one(
        menu: Menu, vault: PhoneVault) -> None:
    decision = going_on(questions.answer(at("confirm", number=None), "1", UKRAINE, vault))

    assert prompt_ids(decision.plan) == ["callback_enter"]
    assert place(question(decision.plan), vault, menu) == at("enter", number=None)


def test_a_typed_number_is_read_back_digit_by_digit(menu: Menu, vault: PhoneVault) -> None:
    enter = at("enter", number=None)
    decision = going_on(questions.answer(enter, TYPED_NATIONALLY, UKRAINE, vault))

    checking = replace(enter, step="check", number=CALLER, source="entered")
    assert decision.keep == checking
    assert decision.plan.steps == (Ask(
        (Say("uk", "callback_entered"), SayDigits("uk", "380501234567"),
         Say("uk", "callback_entered_keys")),
        question(decision.plan).action, timeout=6),)
    assert place(question(decision.plan), vault, menu) == checking


def test_a_number_typed_with_its_country_code_needs_no_region(vault: PhoneVault) -> None:
    decision = going_on(questions.answer(at("enter", number=None), "447911123456", (), vault))

    assert decision.keep is not None and decision.keep.number == "+447911123456"


def test_a_number_that_is_not_a_number_is_called_out_and_asked_for_again(
        menu: Menu, vault: PhoneVault) -> None:
    decision = going_on(questions.answer(at("enter", number=None), "12345", UKRAINE, vault))

    assert decision.keep is None
    assert decision.plan.outcome == "callback:number-invalid"
    assert prompt_ids(decision.plan) == ["callback_number_invalid", "callback_enter"]
    assert place(question(decision.plan), vault, menu) == at("enter", attempt=2, number=None)


def test_silence_when_asked_to_type_a_number_asks_again_without_blame(vault: PhoneVault) -> None:
    decision = going_on(questions.answer(at("enter", number=None), None, UKRAINE, vault))

    assert prompt_ids(decision.plan) == ["callback_enter"]


def test_a_caller_who_cannot_type_a_number_in_three_tries_is_not_left_at_a_dead_end(
        vault: PhoneVault) -> None:
    decision = questions.answer(at("enter", attempt=3, number=None), "12345", UKRAINE, vault)

    assert decision == NoNumber("uk")
    to_operator = questions.no_number("uk", operator_free=True)
    assert to_operator.steps == (Say("uk", "callback_number_failed_operator"),
                                 Redirect(target(paths.OPERATOR, lang="uk")))
    goodbye = questions.no_number("uk", operator_free=False)
    assert goodbye.steps == (Say("uk", "callback_number_failed"), Hangup())
    assert goodbye.outcome == "callback:no-number"


def test_pressing_1_after_hearing_the_typed_number_confirms_it(
        menu: Menu, vault: PhoneVault) -> None:
    check = at("check", source="entered")
    decision = questions.answer(check, "1", UKRAINE, vault)

    assert decision == Store(replace(check, step="identify", confirmed=True))


def test_pressing_2_after_hearing_the_typed_number_lets_the_caller_type_it_again(
        vault: PhoneVault) -> None:
    decision = going_on(questions.answer(at("check", source="entered"), "2", UKRAINE, vault))

    assert decision.forget_number is True
    assert prompt_ids(decision.plan) == ["callback_enter"]
    assert question(decision.plan).action.param("n") is None


def test_a_typed_number_read_back_three_times_without_answer_is_taken_as_right(
        menu: Menu, vault: PhoneVault) -> None:
    first = going_on(questions.answer(at("check", source="entered"), None, UKRAINE, vault))
    last = questions.answer(at("check", attempt=3, source="entered"), None, UKRAINE, vault)

    assert place(question(first.plan), vault, menu).step == "check"
    assert last == Store(at("identify", source="entered", confirmed=True))


# Whether we may say who we are


def test_silence_at_identify_means_no_because_someone_else_may_hold_the_phone(
        menu: Menu, vault: PhoneVault) -> None:
    decision = amended(questions.answer(at("identify", confirmed=True), None, UKRAINE, vault))

    assert decision.capture.identify is False
    assert prompt_ids(decision.plan) == ["callback_window"]
    assert place(question(decision.plan), vault, menu) == at(
        "window", confirmed=True, identify=False)


@pytest.mark.parametrize(("key", "identify"), [("1", True), ("2", False)])
def test_the_caller_says_whether_we_may_name_ourselves(
        vault: PhoneVault, key: str, identify: bool) -> None:
    decision = amended(questions.answer(at("identify"), key, UKRAINE, vault))

    assert decision.capture == at("identify", identify=identify)


def test_a_wrong_key_at_identify_is_asked_once_more_then_taken_as_no(
        menu: Menu, vault: PhoneVault) -> None:
    first = going_on(questions.answer(at("identify"), "9", UKRAINE, vault))
    second = amended(questions.answer(at("identify", attempt=2), "9", UKRAINE, vault))

    assert prompt_ids(first.plan) == ["invalid_option", "callback_identify"]
    assert place(question(first.plan), vault, menu) == at("identify", attempt=2)
    assert second.capture.identify is False


# When it is safe to call


@pytest.mark.parametrize(("key", "window"), [("1", "any"), ("2", "day"), ("3", "evening")])
def test_the_caller_chooses_when_it_is_safe_to_call(
        menu: Menu, vault: PhoneVault, key: str, window: str) -> None:
    decision = amended(questions.answer(at("window"), key, UKRAINE, vault))

    assert decision.capture == at("window", window=window)
    assert prompt_ids(decision.plan) == ["callback_record"]


def test_a_caller_who_chooses_no_window_twice_moves_on_to_the_message(
        menu: Menu, vault: PhoneVault) -> None:
    first = going_on(questions.answer(at("window"), None, UKRAINE, vault))
    second = amended(questions.answer(at("window", attempt=2), None, UKRAINE, vault))

    assert prompt_ids(first.plan) == ["callback_window"]
    assert place(question(first.plan), vault, menu) == at("window", attempt=2)
    assert second.capture.window is None
    assert prompt_ids(second.plan) == ["callback_record"]


# A message, then saved


def test_the_message_is_recorded_to_the_message_webhook_even_if_nothing_is_said(
        menu: Menu, vault: PhoneVault) -> None:
    plan = questions.ask(at("message", window="day"), vault)

    assert plan.private is True
    say, record = plan.steps
    assert say == Say("uk", "callback_record")
    assert isinstance(record, Record)
    assert record.action == record.then
    assert record.action.path == paths.CALLBACK_REQUEST_MESSAGE
    assert questions.capture_from(menu, dict(record.action.params), vault) == at(
        "message", window="day")
    assert record.recording_callback == target(paths.CALLBACK_REQUEST_RECORDING)


def test_after_the_message_the_caller_is_thanked_and_the_call_ends(vault: PhoneVault) -> None:
    decision = going_on(questions.answer(at("message"), None, UKRAINE, vault))

    assert decision.plan.steps == (Say("uk", "callback_saved_end"), Hangup())


def test_a_request_that_could_not_be_kept_is_never_called_saved() -> None:
    plan = questions.not_saved("en")

    assert "callback_saved" not in prompt_ids(plan)
    assert plan.steps == (Say("en", "technical_trouble"), Hangup())


def test_other_parts_of_the_call_send_the_caller_here_with_why() -> None:
    assert questions.redirect_to_request("ru", "surge") == Redirect(
        target(paths.CALLBACK_REQUEST, lang="ru", reason="surge"))


# The caller's place in the URL


def every_decision(vault: PhoneVault) -> list[Decision]:
    return [
        questions.begin(Capture("uk", "chosen"), None, vault),
        questions.begin(Capture("uk", "chosen"), CALLER, vault),
        *(questions.answer(at(step, attempt), digits, UKRAINE, vault)
          for step in questions.STEPS for attempt in (1, 2) for digits in (None, "1", "2", "7")),
        questions.answer(at("enter", number=None), TYPED_NATIONALLY, UKRAINE, vault),
        questions.answer(at("enter", number=None), "12345", UKRAINE, vault),
    ]


def test_every_plan_that_carries_the_callers_place_is_never_cached(vault: PhoneVault) -> None:
    plans = [plan for decision in every_decision(vault)
             if (plan := plan_of(decision)) is not None]
    carrying = [plan for plan in plans
                if any(isinstance(step, Ask | Record) for step in plan.steps)]

    assert len(carrying) > 20
    assert all(plan.private for plan in carrying)


def test_the_callers_number_never_travels_in_plain_text_in_a_url(vault: PhoneVault) -> None:
    actions: list[Target] = []
    for decision in every_decision(vault):
        plan = plan_of(decision)
        if plan is not None:
            actions += [step.action for step in plan.steps if isinstance(step, Ask | Record)]
    actions.append(questions.state_target(paths.CALLBACK_REQUEST_INPUT, at("check"), vault))

    assert any(action.param("n") for action in actions)
    for action in actions:
        url = action.url(BASE)
        assert CALLER not in url
        assert CALLER.lstrip("+") not in url
        assert TYPED_NATIONALLY not in url


def test_the_callers_whole_place_is_read_back_from_the_url(
        menu: Menu, vault: PhoneVault) -> None:
    capture = Capture("ru", "out_of_hours", step="window", attempt=2, number=CALLER,
                      source="entered", confirmed=True, identify=True, window="evening")

    url_state = questions.state_target(paths.CALLBACK_REQUEST_INPUT, capture, vault)

    assert questions.capture_from(menu, dict(url_state.params), vault) == capture


def test_anything_odd_in_the_url_is_forgiven(menu: Menu, vault: PhoneVault) -> None:
    odd = {"lang": "xx", "reason": "because", "step": "../admin", "try": "x", "src": "guess",
           "ok": "yes", "id": "maybe", "win": "midnight"}

    assert questions.capture_from(menu, odd, vault) == Capture("en", "chosen")
    assert questions.capture_from(menu, {}, vault) == Capture("en", "chosen")


@pytest.mark.parametrize(("raw", "attempt"), [
    ("0", 1), ("2", 2), ("77", 3), ("-4", 1), ("two", 1), ("", 1), ("00002", 1)])
def test_a_try_out_of_range_is_brought_back_into_it(
        menu: Menu, vault: PhoneVault, raw: str, attempt: int) -> None:
    assert questions.capture_from(menu, {"lang": "uk", "try": raw}, vault).attempt == attempt


def test_a_forged_or_tampered_number_is_dropped(menu: Menu, vault: PhoneVault) -> None:
    sealed = vault.seal(CALLER)
    middle = len(sealed) // 2
    tampered = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1:]
    strangers = PhoneVault((Fernet.generate_key().decode(),), DEV_PHONE_HASH_KEY)

    for token in (CALLER, "not-a-token", tampered, strangers.seal(CALLER)):
        assert questions.capture_from(menu, {"lang": "uk", "n": token}, vault).number is None
    assert questions.capture_from(menu, {"lang": "uk", "n": sealed}, vault).number == CALLER


@pytest.mark.parametrize("text", ["+380 50 123 45 67", TYPED_NATIONALLY, "+12", "hello"])
def test_a_sealed_number_that_is_not_e164_is_dropped(
        menu: Menu, vault: PhoneVault, text: str) -> None:
    args = {"lang": "uk", "n": vault.seal(text)}

    assert questions.capture_from(menu, args, vault).number is None
