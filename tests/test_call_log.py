"""Every call leg and every step of it is logged; callers' numbers only ever encrypted."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ivr.call_log import entries
from ivr.call_log.entries import Event
from ivr.settings import DEV_PHONE_HASH_KEY
from ivr.twilio.phone_simulator import Phone
from tests.support import (
    CALL_SID,
    CALLER,
    hotline_of,
    signed_post,
    stored_calls,
    stored_events,
    twilio_params,
)


def test_a_call_is_logged_as_a_leg_and_its_steps(app: Flask, phone: Callable[..., Phone]) -> None:
    caller = phone(caller="+380501234567")
    caller.dial()
    caller.press("2")
    caller.press("3")
    caller.hang_up(duration=42, sequence=2)

    [call] = stored_calls(app)
    assert (call.call_sid, call.direction, call.language) == (caller.call_sid, "inbound", "uk")
    assert (call.status, call.duration_seconds) == ("completed", 42)
    assert call.ended_at is not None and call.ended_at >= call.started_at
    events = stored_events(app, caller.call_sid)
    assert [(event.kind, event.node, event.digits, event.outcome) for event in events] == [
        ("incoming", "language", None, "ask:language"),
        ("input", "language", "2", "language:uk"),
        ("input", "main", "3", "goto:about"),
        ("status", None, None, None),
    ]
    assert events[-1].status == "completed"


def test_callers_number_is_stored_encrypted_beside_a_keyed_hash(
        app: Flask, phone: Callable[..., Phone]) -> None:
    phone(caller=CALLER).dial()

    [call] = stored_calls(app)
    assert call.from_number is not None and CALLER not in call.from_number
    assert hotline_of(app).vault.decrypt(call.from_number) == CALLER
    expected = hmac.new(DEV_PHONE_HASH_KEY.encode(), CALLER.encode(), hashlib.sha256).hexdigest()
    assert call.from_number_hash == expected


def test_the_hotlines_own_number_is_stored_encrypted_and_each_caller_apart(
        app: Flask, phone: Callable[..., Phone]) -> None:
    phone(caller="+79161234567").dial()
    phone(caller="+380501234567").dial()

    first, second = stored_calls(app)
    vault = hotline_of(app).vault
    assert first.to_number is not None and "+" not in first.to_number
    # The hotline's number is encrypted once per process: every call names it by one token.
    assert first.to_number == second.to_number
    assert first.to_number_hash == second.to_number_hash == vault.digest(
        vault.decrypt(first.to_number))
    assert first.from_number != second.from_number
    assert {vault.decrypt(call.from_number or "") for call in (first, second)} == {
        "+79161234567", "+380501234567"}


def test_no_callers_number_in_plain_text_in_the_database_file(
        app: Flask, phone: Callable[..., Phone]) -> None:
    numbers = ["+79161234567", "+380501234567", "+442079460958"]
    for number in numbers:
        caller = phone(caller=number)
        caller.dial()
        caller.press("1")
        caller.hang_up()
    calls = stored_calls(app)

    database = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    contents = b"".join(path.read_bytes() for path in database.parent.glob(database.name + "*"))
    assert len(calls) == len(numbers)
    for call in calls:  # the calls are in the files read: their keyed hashes are
        assert call.from_number_hash and call.from_number_hash.encode() in contents
    for number in numbers:
        assert number.encode() not in contents
        assert number[1:].encode() not in contents


def test_withheld_caller_is_logged_without_a_number(app: Flask,
                                                    phone: Callable[..., Phone]) -> None:
    phone(caller="anonymous").dial()

    [call] = stored_calls(app)
    assert call.from_number is None and call.from_number_hash is None


@pytest.mark.parametrize("caller_id", [
    "anonymous", "Restricted", "+266696687", "+86282452253", "client:alice",
    "sip:alice@example.org", "+1234", "+7916123456789012", "+79161234567" + "0" * 30])
def test_a_caller_id_that_is_no_number_is_stored_as_none_and_never_logged_in_full(
        app: Flask, phone: Callable[..., Phone], caller_id: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    # The call log's writer parses the caller ID, off the caller's time: what is not a real
    # number is stored as no number, as when the webhook parsed it.
    phone(caller=caller_id).dial()

    [call] = stored_calls(app)
    assert call.from_number is None and call.from_number_hash is None
    [line] = [json.loads(line) for line in capsys.readouterr().err.splitlines()
              if json.loads(line).get("path") == "/voice/incoming"]
    if not caller_id[1:].isdigit() or len(caller_id) > 16:
        assert line["caller"] == "withheld"
    assert caller_id[1:] not in json.dumps(line, ensure_ascii=False)


def test_status_callback_sent_twice_is_stored_once(app: Flask, client: FlaskClient) -> None:
    params = twilio_params(CallStatus="completed", CallDuration="30", SequenceNumber="3")

    signed_post(client, "/voice/status", params)
    signed_post(client, "/voice/status", params)

    assert len(stored_events(app)) == 1
    assert len(stored_calls(app)) == 1


def test_late_status_callback_never_moves_a_call_backwards(app: Flask,
                                                           client: FlaskClient) -> None:
    signed_post(client, "/voice/status", twilio_params(CallStatus="completed",
                                                       CallDuration="30", SequenceNumber="3"))
    stored_calls(app)
    signed_post(client, "/voice/status", twilio_params(CallStatus="ringing", SequenceNumber="1"))
    signed_post(client, "/voice/status", twilio_params(CallStatus="in-progress",
                                                       SequenceNumber="2"))

    [call] = stored_calls(app)
    assert (call.status, call.duration_seconds) == ("completed", 30)
    assert [event.status for event in stored_events(app)] == ["completed", "ringing",
                                                              "in-progress"]


def test_status_callbacks_in_any_order_end_in_the_same_state(
        make_app: Callable[..., Flask]) -> None:
    deliveries = [("initiated", "0"), ("ringing", "1"), ("in-progress", "2"), ("completed", "3")]
    finals = []
    for order in (deliveries, deliveries[::-1], [deliveries[3], deliveries[0], deliveries[3]]):
        app = make_app()
        client = app.test_client()
        for status, sequence in order:
            signed_post(client, "/voice/status", twilio_params(
                CallStatus=status, SequenceNumber=sequence, CallDuration="12",
                Timestamp="Wed, 25 Nov 2026 10:00:12 +0000"))
        [call] = stored_calls(app)
        finals.append((call.status, call.duration_seconds, call.ended_at))
    assert finals == [("completed", 12, datetime(2026, 11, 25, 10, 0, 12, tzinfo=UTC))] * 3


def test_status_callback_for_an_unknown_call_creates_its_leg(app: Flask,
                                                              client: FlaskClient) -> None:
    signed_post(client, "/voice/status", twilio_params(
        CallStatus="no-answer", Direction="outbound-api", SequenceNumber="2",
        ParentCallSid="CA" + "2" * 32))

    [call] = stored_calls(app)
    assert (call.direction, call.status, call.parent_call_sid) == (
        "outbound-api", "no-answer", "CA" + "2" * 32)


def test_webhook_retried_by_twilio_is_logged_once(app: Flask, client: FlaskClient) -> None:
    retry = {"I-Twilio-Idempotency-Token": "attempt-token-1"}
    path = "/voice/menu/input?node=main&lang=ru&try=1"

    first = signed_post(client, path, twilio_params(Digits="3"), headers=retry)
    second = signed_post(client, path, twilio_params(Digits="3"), headers=retry)

    assert first.data == second.data
    assert len(stored_events(app)) == 1


def test_status_callback_without_call_sid_is_acknowledged_and_ignored(
        app: Flask, client: FlaskClient) -> None:
    response = signed_post(client, "/voice/status", {"CallStatus": "completed"})

    assert response.status_code == 204
    assert stored_events(app) == []


def test_the_log_waits_for_the_database_and_loses_nothing(
        app: Flask, phone: Callable[..., Phone], monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = entries.write_entries
    outage = {"failures": 3}

    def database_down_for_a_while(*args, **kwargs):
        if outage["failures"]:
            outage["failures"] -= 1
            raise sa.exc.OperationalError("INSERT", {}, Exception("connection refused"))
        return real_write(*args, **kwargs)

    monkeypatch.setattr("ivr.call_log.writer.write_entries", database_down_for_a_while)
    caller = phone()
    caller.dial()
    caller.press("1")
    caller.hang_up()

    assert len(stored_events(app, caller.call_sid)) == 3
    assert outage["failures"] == 0


def test_an_entry_the_database_refuses_does_not_hold_back_the_others(app: Flask) -> None:
    assert refused_entries_hold_back_nothing(app) == ["main", "about", "language"]


def refused_entries_hold_back_nothing(app: Flask) -> list[str | None]:
    """A batch with entries no database takes (no call, a time without its zone) and a
    webhook retried inside the same batch: the rest is stored, the retry once."""
    log = hotline_of(app).call_log
    now = datetime.now(UTC)
    good = Event(CALL_SID, None, "menu", now, node="main")
    bad = Event(None, None, "menu", now)  # type: ignore[arg-type]
    naive = Event(CALL_SID, None, "menu", now.replace(tzinfo=None), node="naive")
    retried = Event(CALL_SID, None, "input", now, node="language", dedupe_key="token-1")

    log.record(good, bad, Event(CALL_SID, None, "menu", now, node="about"), naive, retried,
               retried)

    assert log.drain()
    return [event.node for event in stored_events(app)]


def test_logs_show_the_callers_number_masked_and_never_in_full(
        phone: Callable[..., Phone], capsys: pytest.CaptureFixture[str]) -> None:
    caller = phone(caller="+79161234567")
    caller.dial()
    caller.press("1")
    caller.hang_up()

    logged = capsys.readouterr().err
    assert "+7916•••••67" in logged
    assert "79161234567" not in logged and "9161234567" not in logged


def test_each_webhook_is_one_log_line_and_the_first_names_the_caller_masked(
        phone: Callable[..., Phone], capsys: pytest.CaptureFixture[str]) -> None:
    caller = phone(caller="+79161234567")
    caller.dial()
    caller.press("1")

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    webhooks = [line for line in lines if line.get("call_sid") == caller.call_sid]
    assert [line["message"] for line in webhooks] == ["webhook", "webhook"]
    first, second = webhooks
    assert (first["path"], first["caller"], first["direction"]) == (
        "/voice/incoming", "+7916•••••67", "inbound")
    assert "caller" not in second


def test_a_burst_of_webhooks_is_stored_in_few_transactions(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = entries.write_entries
    batches: list[int] = []

    def counting(connection, vault, entries):
        batches.append(len(entries))
        return real_write(connection, vault, entries)

    monkeypatch.setattr("ivr.call_log.writer.write_entries", counting)
    log = hotline_of(app).call_log
    for number in range(20):  # webhooks a millisecond apart, as under load
        log.record(Event(CALL_SID, None, "menu", datetime.now(UTC), node=f"n{number}"))
        time.sleep(0.001)

    assert len(stored_events(app)) == 20
    assert sum(batches) == 20
    assert len(batches) <= 5


def test_webhooks_of_many_threads_at_once_are_all_stored(app: Flask) -> None:
    # Entries are queued without a lock; threads queuing at the same moment may each think
    # another woke the writer. None is lost, and none waits long.
    log = hotline_of(app).call_log
    log.drain()
    start = threading.Barrier(8)

    def webhooks(thread: int) -> None:
        start.wait()
        for number in range(50):
            log.record(Event(CALL_SID, None, "menu", datetime.now(UTC),
                             dedupe_key=f"{thread}:{number}"))

    threads = [threading.Thread(target=webhooks, args=(thread,)) for thread in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(stored_events(app)) == 400


def test_an_entry_nobody_woke_the_writer_for_is_stored_within_seconds(app: Flask) -> None:
    log = hotline_of(app).call_log
    log.record(Event(CALL_SID, None, "menu", datetime.now(UTC), dedupe_key="first"))
    assert log.drain()
    # As when two threads queue at once and neither wakes the writer: queued, no notice.
    log._pending.append(Event(CALL_SID, None, "menu", datetime.now(UTC), dedupe_key="quiet"))
    deadline = time.monotonic() + 5
    while log._pending and time.monotonic() < deadline:
        time.sleep(0.05)

    assert not log._pending, "the writer never looked"
    assert len(stored_events(app)) == 2


def language_changed_in_turn(app: Flask) -> list[str | None]:
    """A leg first heard of at its language step, then the language changed, chosen again,
    and changed twice within one batch: the call's language after each batch."""
    at = datetime.now(UTC)
    vault = hotline_of(app).vault

    def step(*languages: str) -> list[entries.Entry]:
        return [entries.CallSeen(CALL_SID, None, "inbound", None, None, "in-progress", at),
                *(entries.LanguageChosen(CALL_SID, language) for language in languages)]

    seen = []
    with app.app_context():
        for batch in (step("uk"), step("ru"), step("ru"), step("uk", "en")):
            with hotline_of(app).engine.begin() as connection:
                entries.write_entries(connection, vault, batch)
            [call] = stored_calls(app)
            seen.append(call.language)
    return seen


def test_the_language_a_caller_chooses_last_is_the_calls(app: Flask) -> None:
    assert language_changed_in_turn(app) == ["uk", "ru", "ru", "en"]


def test_steps_of_one_call_written_by_different_processes_in_any_order_lose_nothing(
        app: Flask) -> None:
    steps_written_in_any_order_lose_nothing(app)


def steps_written_in_any_order_lose_nothing(app: Flask) -> None:
    """Each worker's writer stores its own batches: the language chosen may be stored before
    the call's first webhook is."""
    at = datetime.now(UTC)
    vault = hotline_of(app).vault
    operator_leg = "CA" + "2" * 32
    hotline = "+15005550006"
    language_step: list[entries.Entry] = [
        entries.CallSeen(CALL_SID, None, "inbound", CALLER, hotline, "in-progress", at),
        entries.LanguageChosen(CALL_SID, "uk")]
    first_webhook: list[entries.Entry] = [
        entries.CallSeen(CALL_SID, None, "inbound", CALLER, hotline, "ringing", at)]
    # The operator's leg is first heard of from the caller's side, without its numbers.
    bridged: list[entries.Entry] = [
        entries.CallSeen(operator_leg, CALL_SID, "outbound-api", None, None, "in-progress", at),
        entries.ParentKnown(operator_leg, CALL_SID)]
    whisper: list[entries.Entry] = [
        entries.CallSeen(operator_leg, None, "outbound-api", hotline, "+380671112233",
                         "in-progress", at)]

    with app.app_context():
        engine = hotline_of(app).engine
        for batch in (language_step, bridged, first_webhook, whisper):
            with engine.begin() as connection:
                entries.write_entries(connection, vault, batch)

    caller_leg, operator = stored_calls(app)
    assert (caller_leg.call_sid, caller_leg.language) == (CALL_SID, "uk")
    assert caller_leg.from_number and vault.decrypt(caller_leg.from_number) == CALLER
    assert operator.parent_call_sid == CALL_SID
    assert operator.to_number and vault.decrypt(operator.to_number) == "+380671112233"
