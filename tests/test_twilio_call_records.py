"""Twilio's record of each of our calls holds the caller's number: once a call has ended, its
retention (TWILIO_CALL_RETENTION_HOURS) has passed and everything we need from it is stored
here, `ivr twilio purge-calls` deletes the record through the REST API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner

from ivr.database import db
from ivr.models import Call, CallbackDraft
from ivr.twilio.call_records import purge_calls
from tests.fake_twilio import FakeTwilio
from tests.rows import add_call, add_recording, new_sid
from tests.support import hotline_of

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
YESTERDAY = NOW - timedelta(hours=25)
AN_HOUR_AGO = NOW - timedelta(hours=1)


@pytest.fixture
def clocked_app(app: Flask) -> Flask:
    hotline_of(app).clock.fixed = NOW
    return app


def purge_calls_now(runner: FlaskCliRunner) -> Result:
    return runner.invoke(args=["twilio", "purge-calls"])


def a_finished_call(app: Flask, twilio: FakeTwilio, ended: datetime) -> str:
    sid = add_call(app, ended)
    twilio.a_call_happened(sid)
    return sid


def a_call_in_progress(app: Flask, twilio: FakeTwilio, started: datetime) -> str:
    sid = new_sid()
    with app.app_context():
        db.session.add(Call(call_sid=sid, direction="inbound", status="in-progress",
                            started_at=started))
        db.session.commit()
    twilio.a_call_happened(sid)
    return sid


def deleted_here(app: Flask) -> set[str]:
    with app.app_context():
        return set(db.session.scalars(sa.select(Call.call_sid).where(
            Call.twilio_deleted_at.is_not(None))))


def test_a_finished_call_past_its_retention_is_deleted_at_twilio_and_we_remember_it(
        clocked_app: Flask, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    old = a_finished_call(clocked_app, twilio, YESTERDAY)

    result = purge_calls_now(runner)

    assert result.exit_code == 0, result.output
    assert twilio.call_deletes == [old] and twilio.call_records == set()
    assert deleted_here(clocked_app) == {old}
    assert result.output.splitlines() == ["call records deleted at Twilio: 1 (already gone "
                                          "there: 0)", "left for the next run: 0"]
    assert purge_calls_now(runner).exit_code == 0
    assert twilio.call_deletes == [old], "a record deleted once is never asked for again"


def test_a_call_inside_its_retention_and_a_call_in_progress_stay_at_twilio(
        clocked_app: Flask, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    recent = a_finished_call(clocked_app, twilio, AN_HOUR_AGO)
    talking = a_call_in_progress(clocked_app, twilio, YESTERDAY)

    assert purge_calls_now(runner).exit_code == 0

    assert twilio.call_deletes == []
    assert twilio.call_records == {recent, talking}


def test_with_no_retention_a_call_goes_right_after_it_ends(
        make_app: object, twilio: FakeTwilio) -> None:
    app = make_app(TWILIO_CALL_RETENTION_HOURS="0")  # type: ignore[operator]
    hotline_of(app).clock.fixed = NOW
    just_ended = a_finished_call(app, twilio, NOW)

    assert app.test_cli_runner().invoke(args=["twilio", "purge-calls"]).exit_code == 0

    assert twilio.call_deletes == [just_ended]


def test_a_call_whose_message_is_not_stored_here_yet_stays_at_twilio(
        clocked_app: Flask, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    with_message = a_finished_call(clocked_app, twilio, YESTERDAY)
    add_recording(clocked_app, YESTERDAY, with_message)

    assert purge_calls_now(runner).exit_code == 0

    assert twilio.call_deletes == [] and twilio.call_records == {with_message}

    # Once the message is ours, the call's record goes too.
    assert runner.invoke(args=["recordings", "fetch"]).exit_code == 0
    assert purge_calls_now(runner).exit_code == 0
    assert twilio.call_deletes == [with_message] and twilio.call_records == set()


def test_a_call_whose_callback_request_is_still_being_written_waits(
        clocked_app: Flask, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    half_taken = a_finished_call(clocked_app, twilio, YESTERDAY)
    vault = hotline_of(clocked_app).vault
    with clocked_app.app_context():
        db.session.add(CallbackDraft(call_sid=half_taken, number=vault.encrypt("+380501234567"),
                                     number_source="caller_id", language="uk", reason="chosen",
                                     started_at=YESTERDAY))
        db.session.commit()

    assert purge_calls_now(runner).exit_code == 0

    assert twilio.call_deletes == []


def test_nothing_is_deleted_while_the_spool_holds_callback_requests(
        clocked_app: Flask, twilio: FakeTwilio) -> None:
    a_finished_call(clocked_app, twilio, YESTERDAY)
    hotline = hotline_of(clocked_app)

    purged = purge_calls(hotline.engine, hotline.twilio, NOW, timedelta(hours=24),
                         spool_busy=True)

    assert purged.waiting_for_spool and twilio.call_deletes == []


def test_a_record_twilio_no_longer_has_counts_as_deleted(
        clocked_app: Flask, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    gone = add_call(clocked_app, YESTERDAY)  # never at the fake Twilio: it answers 404

    result = purge_calls_now(runner)

    assert result.exit_code == 0, result.output
    assert "(already gone there: 1)" in result.output
    assert deleted_here(clocked_app) == {gone}


def test_a_call_twilio_will_not_delete_yet_is_left_for_the_next_run(
        clocked_app: Flask, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    stubborn = a_finished_call(clocked_app, twilio, YESTERDAY)
    twilio.in_progress.add(stubborn)  # Twilio's error 20009: not complete at its end yet

    first = purge_calls_now(runner)
    twilio.in_progress.clear()
    second = purge_calls_now(runner)

    assert "left for the next run: 1" in first.output
    assert twilio.call_deletes == [stubborn, stubborn]
    assert twilio.call_records == set() and deleted_here(clocked_app) == {stubborn}
    assert "call records deleted at Twilio: 1" in second.output


def test_when_twilio_asks_us_to_slow_down_the_run_stops_and_the_rest_waits(
        clocked_app: Flask, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    calls = [a_finished_call(clocked_app, twilio, YESTERDAY - timedelta(minutes=minute))
             for minute in range(5)]
    twilio.slow_down_after(2)

    result = purge_calls_now(runner)

    assert "slow down (429)" in result.output
    assert len(twilio.call_deletes) == 3, "the run stops at the first 429"
    assert len(twilio.call_records) == 3
    twilio.slow_down_after(100)
    assert purge_calls_now(runner).exit_code == 0
    assert twilio.call_records == set() and deleted_here(clocked_app) == set(calls)


def test_a_backlog_is_deleted_a_batch_per_run_oldest_first(
        clocked_app: Flask, twilio: FakeTwilio) -> None:
    calls = [a_finished_call(clocked_app, twilio, YESTERDAY - timedelta(minutes=minute))
             for minute in range(5)]
    hotline = hotline_of(clocked_app)

    purged = purge_calls(hotline.engine, hotline.twilio, NOW, timedelta(hours=24), per_run=2)

    assert purged.deleted == 2
    assert twilio.call_deletes == [calls[4], calls[3]]
