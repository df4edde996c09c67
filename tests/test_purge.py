"""Past the retention period, what we no longer need is removed; nothing newer, and nothing
of a request still open, is touched."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner

from ivr.database import db
from ivr.models import (
    Base,
    Call,
    CallbackRequest,
    CallEvent,
    Recording,
    RecordingCopy,
    RequestCall,
)
from tests.fake_twilio import FakeTwilio
from tests.rows import add_call, add_recording, add_request, count, new_sid
from tests.support import hotline_of

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(days=100)
LAST_WEEK = NOW - timedelta(days=7)
@pytest.fixture
def clocked_app(app: Flask) -> Flask:
    hotline_of(app).clock.fixed = NOW
    return app


def purge(runner: FlaskCliRunner, *args: str) -> Result:
    return runner.invoke(args=["purge", *args])


def request_ids(app: Flask) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(sa.select(CallbackRequest.id)))


def call_sids(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Call.call_sid)))


def test_an_old_closed_request_goes_with_our_copy_of_its_message_too(
        clocked_app: Flask, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    call = add_call(clocked_app, LONG_AGO)
    message = add_recording(clocked_app, LONG_AGO, call)
    add_request(clocked_app, LONG_AGO, status="reached", call_sid=call, recording_sid=message)
    with clocked_app.app_context():
        db.session.add(RecordingCopy(recording_sid=message, stored_at=LONG_AGO,
                                     audio=hotline_of(clocked_app).vault.seal_audio(b"RIFF")))
        db.session.commit()

    result = purge(runner, "--older-than", "90d")

    assert result.exit_code == 0, result.output
    assert count(clocked_app, RecordingCopy) == count(clocked_app, Recording) == 0
    assert request_ids(clocked_app) == set()


def test_an_old_closed_request_goes_with_its_message_at_twilio_first(
        clocked_app: Flask, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    call = add_call(clocked_app, LONG_AGO)
    message = add_recording(clocked_app, LONG_AGO, call)
    add_request(clocked_app, LONG_AGO, status="reached", call_sid=call, recording_sid=message)

    result = purge(runner, "--older-than", "90d")

    assert result.exit_code == 0, result.output
    assert twilio.deleted == [message]
    assert request_ids(clocked_app) == set()
    assert count(clocked_app, Recording) == count(clocked_app, RequestCall) == 0
    assert call_sids(clocked_app) == set() and count(clocked_app, CallEvent) == 0
    assert result.output.splitlines() == [
        "removed what is older than 2026-08-27 12:00 UTC:",
        "  closed callback requests: 1 (open ones are never removed)",
        "  recordings deleted at Twilio: 1 (already gone there: 0)",
        "  calls: 1, call events: 1",
        "  Twilio alerts: 0",
        "  web and Telegram chats that ended: 0",
        "  Telegram bot people with nothing left: 0",
    ]


def test_an_open_request_is_never_removed_however_old_nor_its_call_or_message(
        clocked_app: Flask, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    call = add_call(clocked_app, LONG_AGO)
    message = add_recording(clocked_app, LONG_AGO, call)
    waiting = add_request(clocked_app, LONG_AGO, status="open", call_sid=call,
                          recording_sid=message)

    result = purge(runner, "--older-than", "1h")

    assert result.exit_code == 0, result.output
    assert request_ids(clocked_app) == {waiting}
    assert call_sids(clocked_app) == {call}
    assert count(clocked_app, Recording) == 1
    assert twilio.deleted == []


def test_nothing_newer_than_the_period_is_touched(
        clocked_app: Flask, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    old_call = add_call(clocked_app, LONG_AGO)
    recent_call = add_call(clocked_app, LAST_WEEK)
    recent_message = add_recording(clocked_app, LAST_WEEK, recent_call)
    closed_lately = add_request(clocked_app, LAST_WEEK, status="closed", call_sid=recent_call,
                                recording_sid=recent_message)
    closed_long_ago = add_request(clocked_app, LONG_AGO, status="wrong_number",
                                  number="+380501234599")

    result = purge(runner, "--older-than", "2w")

    assert result.exit_code == 0, result.output
    assert request_ids(clocked_app) == {closed_lately}
    assert closed_long_ago not in request_ids(clocked_app)
    assert call_sids(clocked_app) == {recent_call}
    assert old_call not in call_sids(clocked_app)
    assert count(clocked_app, Recording) == 1
    assert twilio.deleted == []


def test_a_message_twilio_will_not_delete_keeps_its_request_for_the_next_run(
        clocked_app: Flask, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    call = add_call(clocked_app, LONG_AGO)
    message = add_recording(clocked_app, LONG_AGO, call)
    request = add_request(clocked_app, LONG_AGO, status="reached", call_sid=call,
                          recording_sid=message)
    twilio.refuse_deletes(status=500, code=20500, message="Internal")

    result = purge(runner)

    assert result.exit_code == 1
    assert request_ids(clocked_app) == {request}
    assert count(clocked_app, Recording) == 1
    assert result.stderr.splitlines()[-1] == (
        "ivr: 1 recording(s) could not be deleted at Twilio; they and their requests are kept "
        "for the next run")


def test_a_message_twilio_no_longer_has_is_forgotten_here_too(
        clocked_app: Flask, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    message = add_recording(clocked_app, LONG_AGO, new_sid())
    twilio.lose_recording(status=404)

    result = purge(runner)

    assert result.exit_code == 0, result.output
    assert twilio.deleted == [message]
    assert count(clocked_app, Recording) == 0
    assert "recordings deleted at Twilio: 0 (already gone there: 1)" in result.output


def test_the_period_defaults_to_the_retention_setting(
        make_app: Callable[..., Flask], twilio: FakeTwilio) -> None:
    app = make_app(RETENTION_DAYS="30")
    hotline_of(app).clock.fixed = NOW
    add_request(app, NOW - timedelta(days=40), status="closed")
    kept = add_request(app, NOW - timedelta(days=20), status="closed", number="+380501234598")

    result = purge(app.test_cli_runner())

    assert result.exit_code == 0, result.output
    assert "older than 2026-10-26 12:00 UTC" in result.output
    assert request_ids(app) == {kept}


@pytest.mark.parametrize("period", ["90", "90x", "0d", "-1d", "d", "1.5d"])
def test_a_period_that_is_not_one_is_refused_in_one_line(
        clocked_app: Flask, runner: FlaskCliRunner, period: str) -> None:
    add_request(clocked_app, LONG_AGO, status="closed")

    result = purge(runner, "--older-than", period)

    assert result.exit_code == 1
    assert result.stderr == f"ivr: --older-than {period!r} is not a period like 90d, 12h or 2w\n"
    assert len(request_ids(clocked_app)) == 1


def test_on_postgresql_too_only_what_is_old_and_closed_goes(
        postgres_app: Flask, twilio: FakeTwilio) -> None:
    hotline_of(postgres_app).clock.fixed = NOW
    waiting_call = add_call(postgres_app, LONG_AGO)
    waiting = add_request(postgres_app, LONG_AGO, call_sid=waiting_call)
    done_call = add_call(postgres_app, LONG_AGO)
    message = add_recording(postgres_app, LONG_AGO, done_call)
    add_request(postgres_app, LONG_AGO, status="reached", call_sid=done_call,
                recording_sid=message, number="+380501234599")
    recent = add_request(postgres_app, LAST_WEEK, status="closed", number="+380501234598")

    result = purge(postgres_app.test_cli_runner())

    assert result.exit_code == 0, result.output
    assert request_ids(postgres_app) == {waiting, recent}
    assert call_sids(postgres_app) == {waiting_call}
    assert twilio.deleted == [message]


def test_every_table_pointing_at_a_request_is_handled_when_it_goes() -> None:
    pointing = {foreign_key.parent.table.name for table in Base.metadata.tables.values()
                for foreign_key in table.foreign_keys
                if foreign_key.column.table.name == "callback_requests"}

    # ivr/retention.py deletes (or, for the audit log, unlinks) each of these first.
    assert pointing == {"callback_calls", "callback_attempts", "callback_notes", "audit_log",
                        "chat_conversations"}
