"""The same calls on PostgreSQL, the production database."""

from __future__ import annotations

from flask import Flask

from tests.conftest import phone_for
from tests.support import signed_post, stored_calls, stored_events, twilio_params


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


def test_replayed_and_late_status_callbacks_change_nothing_on_postgresql(
        postgres_app: Flask) -> None:
    client = postgres_app.test_client()
    completed = twilio_params(CallStatus="completed", CallDuration="9", SequenceNumber="2")
    for params in (completed, completed, twilio_params(CallStatus="ringing", SequenceNumber="0")):
        signed_post(client, "/voice/status", params)

    [call] = stored_calls(postgres_app)
    assert (call.status, call.duration_seconds) == ("completed", 9)
    assert [event.status for event in stored_events(postgres_app)] == ["completed", "ringing"]
