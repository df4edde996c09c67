"""The same calls on PostgreSQL, the production database."""

from __future__ import annotations

from urllib.parse import urlsplit

import psycopg
import pytest
from flask import Flask

from ivr import database
from tests.conftest import phone_for
from tests.support import signed_post, stored_calls, stored_events, twilio_params
from tests.test_call_log import (
    language_changed_in_turn,
    refused_entries_hold_back_nothing,
    steps_written_in_any_order_lose_nothing,
)


def test_a_call_in_each_language_is_logged_on_postgresql(postgres_app: Flask) -> None:
    phone = phone_for(postgres_app)
    for key in ("1", "2", "3"):
        caller = phone()
        caller.dial()
        caller.press(key)
        caller.press("3")
        caller.hang_up(duration=20, sequence=3)

    calls = stored_calls(postgres_app)
    assert [(call.language, call.status, call.duration_seconds) for call in calls] == [
        ("ru", "completed", 20), ("uk", "completed", 20), ("en", "completed", 20)]
    assert all(call.from_number_hash for call in calls)


def test_the_language_a_caller_chooses_last_is_the_calls_on_postgresql(
        postgres_app: Flask) -> None:
    assert language_changed_in_turn(postgres_app) == ["uk", "ru", "ru", "en"]


def test_the_call_logs_batches_on_postgresql_store_steps_in_any_order(
        postgres_app: Flask) -> None:
    """PostgreSQL takes a batch as one statement per table, its rows as arrays: the same
    rules as one row at a time."""
    steps_written_in_any_order_lose_nothing(postgres_app)


def test_an_entry_postgresql_refuses_does_not_hold_back_its_batch(postgres_app: Flask) -> None:
    assert refused_entries_hold_back_nothing(postgres_app) == ["main", "about", "language"]


def test_replayed_and_late_status_callbacks_change_nothing_on_postgresql(
        postgres_app: Flask) -> None:
    client = postgres_app.test_client()
    completed = twilio_params(CallStatus="completed", CallDuration="9", SequenceNumber="2")
    for params in (completed, completed, twilio_params(CallStatus="ringing", SequenceNumber="0")):
        signed_post(client, "/voice/status", params)

    [call] = stored_calls(postgres_app)
    assert (call.status, call.duration_seconds) == ("completed", 9)
    assert [event.status for event in stored_events(postgres_app)] == ["completed", "ringing"]


def test_connections_the_database_cut_while_idle_are_replaced_before_a_caller_needs_one(
        postgres_app: Flask, postgres_url: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Without a ping before every statement: a connection idle for a while is pinged when it
    is taken, so a database restarted (or a proxy that cut idle connections) between two
    calls costs the next caller nothing."""
    phone = phone_for(postgres_app)
    first = phone()
    first.dial()
    first.press("1")
    first.press("2")
    assert first.press("1")[0].prompt == "callback_saved"
    name = urlsplit(postgres_url).path.lstrip("/")
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        cut = admin.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchone()
    assert cut is not None and cut[0] >= 1
    monkeypatch.setattr(database, "PING_AFTER_IDLE_SECONDS", 0.0)  # every connection is idle

    caller = phone(caller="+380501234568")
    caller.dial()
    caller.press("2")
    caller.press("2")
    saved = caller.press("1")

    assert saved[0].prompt == "callback_saved"
    assert "technical_trouble" not in {item.prompt for item in caller.heard}
    # Not even retried: the dead connections were found before a statement was sent on one.
    assert [record.getMessage() for record in caplog.records if record.levelno >= 30] == []
