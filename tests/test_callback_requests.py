"""Leaving a callback request: stored before the caller is told, and never lost."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner

from ivr.callback_requests import questions, taking
from ivr.callback_requests.operations import Abandon, Operation, apply
from ivr.callback_requests.store import find_by_reference
from ivr.database import db
from ivr.models import CallbackDraft, CallbackRequest, Operator
from ivr.twilio.phone_simulator import Heard, Phone
from tests.rows import add_request
from tests.support import (
    at_the_main_menu,
    fails_once,
    hotline_of,
    prompts,
    stored_calls,
    stored_events,
)

Dial = Callable[..., Phone]
UKRAINIAN_CALLER = "+380501234567"


def stored_requests(app: Flask) -> list[CallbackRequest]:
    with app.app_context():
        return list(db.session.scalars(sa.select(CallbackRequest).order_by(CallbackRequest.id)))


def number_of(app: Flask, request: CallbackRequest) -> str:
    return hotline_of(app).vault.decrypt(request.number)


def digits_heard(heard: list[Heard], after: str, before: str) -> str:
    """The digits read out between two prompts (a request number, a phone number)."""
    ids = [item.prompt or "" for item in heard]
    start, end = ids.index(after) + 1, ids.index(before)
    return "".join(prompt.removeprefix("digit_") for prompt in ids[start:end])


def to_callback_request(phone: Dial, caller: str = UKRAINIAN_CALLER, language_key: str = "2",
                        ) -> tuple[Phone, list[Heard]]:
    """A caller who dials, chooses a language and presses 2 for a callback request."""
    call = phone(caller=caller)
    call.dial()
    call.press(language_key)
    return call, call.press("2")


def told(heard: list[Heard]) -> str:
    """The request number the caller heard as saved."""
    return digits_heard(heard, "callback_saved", "callback_saved_more")


def answer_the_questions(call: Phone, identify: str = "2", window: str = "3",
                         hour: str | None = None) -> list[Heard]:
    """Then, when their number does not tell their time zone, the hour (or silence)."""
    call.press(identify)
    heard = call.press(window)
    if prompts(heard)[-1][1] == "callback_hour":
        heard = call.press(hour) if hour else call.wait()
    assert prompts(heard)[-1][1] == "callback_record"
    assert call.recording
    return heard


def test_caller_who_confirms_their_number_leaves_a_request(app: Flask, phone: Dial) -> None:
    call, heard = to_callback_request(phone)

    assert prompts(heard) == [("uk", "callback_confirm"), ("uk", "digit_6"), ("uk", "digit_7"),
                              ("uk", "callback_confirm_keys")]
    saved = call.press("1")  # stored at once: the rest is optional
    assert saved[0].prompt == "callback_saved"
    assert prompts(saved)[-2:] == [("uk", "callback_saved_more"), ("uk", "callback_identify")]
    assert prompts(call.press("2")) == [("uk", "callback_window")]
    assert prompts(call.press("3")) == [("uk", "callback_record")]
    assert prompts(call.record(seconds=12)) == [("uk", "callback_saved_end")]

    assert call.hung_up
    [request] = stored_requests(app)
    assert told(saved) == request.reference
    assert number_of(app, request) == UKRAINIAN_CALLER
    assert (request.number_source, request.number_confirmed) == ("caller_id", True)
    assert (request.language, request.reason, request.priority, request.status) == (
        "uk", "chosen", 3, "open")
    assert (request.may_identify, request.safe_window) == (False, "evening")
    assert request.caller_timezone == "Europe/Kyiv"
    assert request.first_call_sid == request.last_call_sid == call.call_sid


def test_the_message_is_attached_when_twilio_says_the_recording_is_ready(
        app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)
    call.press("1")
    answer_the_questions(call, identify="1", window="1")
    call.record(seconds=20, recording_sid="RE" + "a" * 32)

    code, _ = call.recording_ready()

    assert code == 204
    [request] = stored_requests(app)
    assert (request.recording_sid, request.recording_duration) == ("RE" + "a" * 32, 20)
    assert (request.may_identify, request.safe_window) == (True, "any")


def test_a_recording_ready_before_the_request_is_saved_is_still_attached(
        app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)
    call.press("1")
    answer_the_questions(call)
    # Twilio's recording callback can overtake the <Record> action.
    call.last_recording = ("RE" + "b" * 32, "http://localhost/voice/callback/recording", 9)
    call.recording_ready()
    call.wait()  # nothing said into the <Record>: the redirect after it saves the request

    [request] = stored_requests(app)
    assert (request.recording_sid, request.recording_duration) == ("RE" + "b" * 32, 9)


def test_caller_who_types_another_number(app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)

    assert prompts(call.press("2")) == [("uk", "callback_enter")]
    heard = call.press("380671112233#")
    assert digits_heard(heard, "callback_entered", "callback_entered_keys") == "380671112233"
    assert prompts(call.press("1"))[-1] == ("uk", "callback_identify")
    answer_the_questions(call)
    call.wait()

    [request] = stored_requests(app)
    assert number_of(app, request) == "+380671112233"
    assert (request.number_source, request.number_confirmed) == ("entered", True)


def test_a_number_typed_without_the_country_code_is_read_as_the_callers_country(
        app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)
    call.press("2")

    heard = call.press("0671112233#")

    assert digits_heard(heard, "callback_entered", "callback_entered_keys") == "380671112233"


def test_caller_with_a_withheld_number_goes_straight_to_typing_one(
        app: Flask, phone: Dial) -> None:
    call, heard = to_callback_request(phone, caller="anonymous", language_key="1")

    assert prompts(heard) == [("ru", "callback_enter")]
    call.press("79161234567#")
    call.press("1")
    answer_the_questions(call)
    call.record(seconds=5)

    [request] = stored_requests(app)
    assert number_of(app, request) == "+79161234567"
    assert request.caller_timezone is None  # a Russian mobile spans eleven time zones


def test_caller_who_types_nonsense_three_times_hears_what_to_do_instead(
        app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone, caller="anonymous")

    first = call.press("12#")
    second = call.press("99999999999#")
    third = call.wait()

    assert prompts(first) == [("uk", "callback_number_invalid"), ("uk", "callback_enter")]
    assert prompts(second) == [("uk", "callback_number_invalid"), ("uk", "callback_enter")]
    assert prompts(third) == [("uk", "callback_number_failed")]
    assert call.hung_up
    assert stored_requests(app) == []


def test_a_wrong_key_is_not_an_option_and_the_question_is_asked_again(
        app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)

    heard = call.press("7")

    assert prompts(heard)[0] == ("uk", "invalid_option")
    assert prompts(heard)[1] == ("uk", "callback_confirm")


def test_silence_means_we_may_not_say_who_we_are(app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)
    call.press("1")

    assert prompts(call.wait()) == [("uk", "callback_window")]
    call.press("2")
    call.record(seconds=3)

    [request] = stored_requests(app)
    assert (request.may_identify, request.safe_window) == (False, "day")


def test_caller_who_says_nothing_at_all_is_still_called_back(app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)

    heard = call.wait()  # one silence: the caller may not be able to press or speak

    assert prompts(heard)[0] == ("uk", "callback_saved")
    [request] = stored_requests(app)
    assert request.reference == told(heard)
    assert (request.number_confirmed, request.may_identify) == (False, False)


def test_pressing_2_asks_the_first_question_in_the_same_answer(
        app: Flask, phone: Dial) -> None:
    call, requested = at_the_main_menu(phone, UKRAINIAN_CALLER)

    heard = call.press("2")

    assert prompts(heard)[0] == ("uk", "callback_confirm")
    assert requested == ["/voice/menu/input"]  # no round trip through a redirect
    steps = [(event.kind, event.node) for event in stored_events(app, call.call_sid)]
    assert steps[-2:] == [("input", "main"), ("callback", "confirm")]
    call.hang_up()  # the number was known at once: kept
    assert [request.reason for request in stored_requests(app)] == ["abandoned"]


def test_a_request_that_cannot_begin_at_once_begins_when_twilio_follows_the_redirect(
        app: Flask, phone: Dial, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(taking, "begin", fails_once(taking.begin))
    call, requested = at_the_main_menu(phone, UKRAINIAN_CALLER)

    heard = call.press("2")

    assert prompts(heard)[0] == ("uk", "callback_confirm")
    assert requested == ["/voice/menu/input", "/voice/callback"]


def test_caller_who_hangs_up_once_the_number_is_known_leaves_an_abandoned_request(
        app: Flask, phone: Dial) -> None:
    call, heard = to_callback_request(phone)
    assert prompts(heard)[0] == ("uk", "callback_confirm")  # the number is known

    call.hang_up()

    [request] = stored_requests(app)
    assert (request.reason, request.priority) == ("abandoned", 1)
    assert (request.number_confirmed, request.may_identify) == (False, False)
    with app.app_context():
        assert db.session.scalars(sa.select(CallbackDraft)).all() == []


def test_caller_who_hangs_up_while_their_number_waits_in_the_spool_is_still_called_back(
        app: Flask, phone: Dial) -> None:
    break_table(app, "callback_drafts")
    call, heard = to_callback_request(phone)  # the number known, kept in the spool
    assert prompts(heard)[0] == ("uk", "callback_confirm")
    mend_table(app, "callback_drafts")

    call.hang_up()  # the database has no draft for the call, but the spool has

    hotline_of(app).callback_requests.replay()
    [request] = stored_requests(app)
    assert (request.reason, number_of(app, request)) == ("abandoned", UKRAINIAN_CALLER)


def test_caller_who_hangs_up_while_the_database_is_away_is_still_called_back(
        app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)  # the number known, kept in the database
    break_table(app, "callback_drafts")

    call.hang_up()

    mend_table(app, "callback_drafts")
    hotline_of(app).callback_requests.replay()
    [request] = stored_requests(app)
    assert (request.reason, number_of(app, request)) == ("abandoned", UKRAINIAN_CALLER)


def test_caller_who_hangs_up_during_the_optional_questions_leaves_the_request_as_it_was(
        app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)
    saved = call.press("1")
    call.press("1")  # yes, we may say who we are

    call.hang_up()

    [request] = stored_requests(app)
    assert request.reference == told(saved)
    assert (request.reason, request.priority, request.number_confirmed) == ("chosen", 3, True)
    assert request.may_identify is True  # the answer given before hanging up is kept
    assert request.safe_window is None


def test_caller_who_hangs_up_after_refusing_their_number_leaves_nothing(
        app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)
    assert prompts(call.press("2")) == [("uk", "callback_enter")]

    call.hang_up()

    assert stored_requests(app) == []
    assert [logged.status for logged in stored_calls(app)] == ["completed"]


def test_a_twilio_retry_of_the_save_makes_no_second_request(app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)
    gather = call._gather
    assert gather is not None
    first = call.press("1")
    call._gather = gather  # Twilio did not get our answer in time and sends it again

    again = call.press("1")

    [request] = stored_requests(app)
    assert request.attempts == 1
    assert prompts(first) == prompts(again)
    assert told(first) == told(again) == request.reference


def test_a_second_request_from_the_same_number_renews_the_open_one(
        app: Flask, phone: Dial) -> None:
    first, _ = to_callback_request(phone)
    heard_first = first.press("1")
    answer_the_questions(first, identify="1", window="1")
    first.record(seconds=4)

    second, _ = to_callback_request(phone)
    heard_second = second.press("1")
    answer_the_questions(second, identify="2", window="2")
    second.record(seconds=8)

    [request] = stored_requests(app)
    assert request.attempts == 2
    assert (request.first_call_sid, request.last_call_sid) == (first.call_sid, second.call_sid)
    assert (request.may_identify, request.safe_window) == (False, "day")
    assert told(heard_first) == told(heard_second) == request.reference


def break_table(app: Flask, table: str = "callback_requests") -> None:
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text(f"ALTER TABLE {table} RENAME TO broken"))


def mend_table(app: Flask, table: str = "callback_requests") -> None:
    with app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text(f"ALTER TABLE broken RENAME TO {table}"))


def test_a_database_that_fails_during_the_save_loses_nothing(
        app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)
    break_table(app)

    heard = call.press("1")

    assert heard[0].prompt == "callback_saved"  # the spool has it, on disk
    answer_the_questions(call, identify="1", window="2")
    call.record(seconds=6)
    writer = hotline_of(app).callback_requests
    assert writer.spool.waiting() >= 3  # the request, then each answer after it
    mend_table(app)
    writer.replay()
    writer.replay()  # replaying twice stores nothing twice
    [request] = stored_requests(app)
    assert request.reference == told(heard)
    assert number_of(app, request) == UKRAINIAN_CALLER
    assert (request.may_identify, request.safe_window) == (True, "day")
    assert writer.spool.waiting() == 0


def test_a_caller_told_a_number_from_the_spool_is_found_by_it_when_it_renews_an_open_request(
        app: Flask, phone: Dial) -> None:
    first, _ = to_callback_request(phone)
    told_first = told(first.press("1"))
    second, _ = to_callback_request(phone)
    break_table(app)

    told_second = told(second.press("1"))

    mend_table(app)
    hotline_of(app).callback_requests.replay()
    [request] = stored_requests(app)
    assert request.attempts == 2
    with app.app_context():
        connection = db.session.connection()
        for number in (told_first, told_second):
            found = find_by_reference(connection, number)
            assert found is not None and found.id == request.id


def test_a_call_stored_as_abandoned_before_its_save_arrives_from_the_spool_gets_its_answers(
        app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)  # the number is known: a draft is kept
    break_table(app)
    heard = call.press("1")
    answer_the_questions(call, identify="1", window="2")
    call.record(seconds=5)
    mend_table(app)
    writer = hotline_of(app).callback_requests
    # Another instance, whose database came back first, heard the call end and kept the draft.
    with app.app_context(), db.engine.begin() as connection:
        apply(connection, writer.vault,
              Abandon(call.call_sid, datetime(2026, 11, 25, 12, tzinfo=UTC)))
    assert [request.reason for request in stored_requests(app)] == ["abandoned"]

    writer.replay()

    [request] = stored_requests(app)
    assert (request.reason, request.may_identify, request.safe_window) == ("chosen", True, "day")
    with app.app_context():
        found = find_by_reference(db.session.connection(), told(heard))
    assert found is not None and found.id == request.id


def test_a_spool_replay_interrupted_midway_is_finished_exactly_once(
        app: Flask, phone: Dial) -> None:
    break_table(app)
    for caller in ("+380501234567", "+380671112233", "+380931234567"):
        call, _ = to_callback_request(phone, caller=caller)
        call.press("1")
        answer_the_questions(call)
        call.record(seconds=2)
    writer = hotline_of(app).callback_requests
    mend_table(app)
    operations: list[Operation] = []

    def crash_after_two(group: Sequence[Operation]) -> None:
        for operation in group:  # each stored at once, the worst a crash can leave
            if len(operations) == 2:
                raise OSError("worker killed")
            operations.append(operation)
            with app.app_context(), db.engine.begin() as connection:
                apply(connection, writer.vault, operation)

    with pytest.raises(OSError, match="worker killed"):
        writer.spool.replay(crash_after_two, lambda error: False)
    writer.replay()

    assert sorted(number_of(app, request) for request in stored_requests(app)) == [
        "+380501234567", "+380671112233", "+380931234567"]


def test_the_spool_holds_no_number_in_plain_text(app: Flask, phone: Dial) -> None:
    break_table(app)
    call, _ = to_callback_request(phone)
    call.press("1")
    answer_the_questions(call)
    call.record(seconds=2)

    spool_dir = hotline_of(app).callback_requests.spool.directory
    contents = b"".join(path.read_bytes() for path in Path(spool_dir).iterdir())
    assert contents
    assert UKRAINIAN_CALLER.encode() not in contents
    assert UKRAINIAN_CALLER[1:].encode() not in contents


def test_the_caller_is_not_told_saved_when_nothing_could_store_it(
        app: Flask, phone: Dial, monkeypatch: pytest.MonkeyPatch) -> None:
    call, _ = to_callback_request(phone)
    break_table(app)

    def disk_full(operation: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(hotline_of(app).callback_requests.spool, "append", disk_full)

    heard = call.press("1")

    assert prompts(heard) == [("uk", "technical_trouble")]


def test_the_number_to_call_back_never_appears_in_a_url(app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone)
    call.press("2")
    call.press("380671112233#")

    gather = call._gather
    assert gather is not None
    assert "380671112233" not in gather.action
    assert "380501234567" not in gather.action


def ivr(runner: FlaskCliRunner, *args: str) -> Result:
    return runner.invoke(args=list(args))


def test_callbacks_list_shows_requests_with_masked_numbers(
        runner: FlaskCliRunner, phone: Dial) -> None:
    call, _ = to_callback_request(phone)
    call.press("1")
    answer_the_questions(call)
    call.record(seconds=7)

    table = ivr(runner, "callbacks", "list", "--status", "open")
    lines = ivr(runner, "callbacks", "list", "--json")

    assert table.exit_code == 0
    assert "+3805••••••67" in table.output and UKRAINIAN_CALLER not in table.output
    [row] = [json.loads(line) for line in lines.output.splitlines()]
    assert row["number"] == "+3805••••••67"
    assert (row["status"], row["reason"], row["message_seconds"]) == ("open", "chosen", None)


def test_callbacks_list_takes_the_queue_pages_statuses_and_each_stored_one(
        app: Flask, runner: FlaskCliRunner) -> None:
    added = runner.invoke(args=["operators", "add", "olena", "--name", "Olena K", "--phone",
                                "+380501112233", "--languages", "uk"],
                          input="correct horse battery staple\n")
    assert added.exit_code == 0, added.output
    now = datetime.now(UTC)
    waiting, held, lapsed = (add_request(app, now, number=f"+38050111{n:04d}") for n in range(3))
    reached = add_request(app, now, status="reached", number="+380501110010")
    wrong = add_request(app, now, status="wrong_number", number="+380501110011")
    with app.app_context():
        olena = db.session.scalars(sa.select(Operator.id)).one()
        for request_id, claimed_at in ((held, now), (lapsed, now - timedelta(hours=2))):
            db.session.get_one(CallbackRequest, request_id).claimed_by = olena
            db.session.get_one(CallbackRequest, request_id).claimed_at = claimed_at
        db.session.commit()
        reference = {request.id: request.reference
                     for request in db.session.scalars(sa.select(CallbackRequest))}

    def listed(status: str) -> set[int]:
        result = ivr(runner, "callbacks", "list", "--status", status, "--json")
        assert result.exit_code == 0, result.output
        shown = {json.loads(line)["reference"] for line in result.output.splitlines()}
        return {request_id for request_id, ref in reference.items() if ref in shown}

    assert listed("open") == {waiting, held, lapsed}
    assert listed("waiting") == {waiting, lapsed}  # a claim lapses after CLAIM_MINUTES
    assert listed("claimed") == {held}
    assert listed("done") == {reached, wrong}
    assert listed("reached") == {reached}
    assert listed("wrong_number") == {wrong}


@pytest.mark.parametrize("status", ["no_answer", "opened", "OPEN", ""])
def test_callbacks_list_refuses_a_status_no_request_has_and_names_those_that_exist(
        runner: FlaskCliRunner, status: str) -> None:
    result = ivr(runner, "callbacks", "list", "--status", status)

    assert result.exit_code == 2
    assert f"Invalid value for '--status': '{status}' is not one of 'open', 'waiting', " \
           "'claimed', 'due', 'later', 'decision', 'done', 'reached', 'wrong_number', " \
           "'do_not_call', 'closed'" in " ".join(result.stderr.split())


def test_spool_replay_command_says_what_it_did(
        app: Flask, runner: FlaskCliRunner, phone: Dial) -> None:
    break_table(app)
    call, _ = to_callback_request(phone)
    call.press("1")
    answer_the_questions(call)
    call.record(seconds=2)

    waiting = hotline_of(app).callback_requests.spool.waiting()

    still_down = ivr(runner, "spool", "replay")
    mend_table(app)
    replayed = ivr(runner, "spool", "replay")

    assert still_down.exit_code == 1
    assert "the database is still unavailable" in still_down.output
    assert replayed.exit_code == 0
    assert replayed.output == f"{waiting} operation(s) replayed into the database; 0 waiting\n"
    assert len(stored_requests(app)) == 1


# When is it safe to call a caller whose number does not tell their time zone.
NIGHT_IN_MOSCOW = datetime(2026, 12, 1, 18, 40, tzinfo=UTC)  # 21:40 in Moscow


def at_fixed_time(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    monkeypatch.setattr("ivr.voice.callback_request.utcnow", lambda: moment)


def test_caller_whose_number_spans_time_zones_is_asked_the_hour_after_the_request_is_saved(
        app: Flask, phone: Dial, monkeypatch: pytest.MonkeyPatch) -> None:
    at_fixed_time(monkeypatch, NIGHT_IN_MOSCOW)
    call, _ = to_callback_request(phone, caller="+79161234567", language_key="1")
    call.press("1")  # yes, this number: saved
    [saved] = stored_requests(app)
    call.press("2")  # do not say who we are

    asked = call.press("2")  # daytime
    heard = call.press("21")  # "it is 9 in the evening here"

    assert prompts(asked) == [("ru", "callback_hour")]
    assert prompts(heard) == [("ru", "callback_record")]
    [request] = stored_requests(app)
    assert request.id == saved.id and request.caller_timezone is None
    assert request.caller_utc_offset == 3 * 60


def test_caller_whose_number_tells_the_time_zone_is_not_asked_the_hour(
        app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone, caller="+380501234567")
    call.press("1")
    call.press("2")

    heard = call.press("2")

    assert prompts(heard) == [("uk", "callback_record")]
    [request] = stored_requests(app)
    assert (request.caller_timezone, request.caller_utc_offset) == ("Europe/Kyiv", None)


@pytest.mark.parametrize("answer", [None, "7", "99", "2#"])
def test_caller_who_does_not_tell_the_hour_goes_on_to_the_message(
        app: Flask, phone: Dial, answer: str | None) -> None:
    call, _ = to_callback_request(phone, caller="+79161234567", language_key="1")
    call.press("1")
    call.press("2")
    call.press("2")

    heard = call.press(answer) if answer else call.wait()

    assert prompts(heard) == [("ru", "callback_record")]
    [request] = stored_requests(app)
    assert (request.status, request.caller_utc_offset) == ("open", None)


def test_caller_who_hangs_up_at_the_hour_question_is_still_called_back(
        app: Flask, phone: Dial) -> None:
    call, _ = to_callback_request(phone, caller="+79161234567", language_key="1")
    call.press("1")
    call.press("2")
    call.press("3")

    call.hang_up()

    [request] = stored_requests(app)
    assert (request.status, request.safe_window, request.caller_utc_offset) == (
        "open", "evening", None)


@pytest.mark.parametrize(("hour", "utc", "offset_hours"), [
    (21, "18:40", 3), (2, "23:55", 3), (23, "02:10", -3), (14, "00:05", 14), (12, "00:30", 12),
    (13, "01:00", 12), (0, "12:00", 12), (1, "12:00", 13), (9, "18:00", -9), (20, "18:30", 2)])
def test_the_hour_told_gives_a_whole_hour_offset_from_utc(
        hour: int, utc: str, offset_hours: int) -> None:
    hours, minutes = map(int, utc.split(":"))
    at = datetime(2026, 12, 1, hours, minutes, tzinfo=UTC)

    assert questions.utc_offset(hour, at) == offset_hours * 60
