"""What Twilio keeps of a caller's message: once Twilio reports it complete, `ivr recordings
fetch` (and the periodic runner, through the same function) copies it to us encrypted, and
only then deletes it at Twilio. Whatever fails is tried again; no message is ever lost."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient

from ivr.callback_requests import recordings
from ivr.database import db
from ivr.models import Recording, RecordingCopy
from ivr.twilio.phone_simulator import Phone
from tests.fake_twilio import FakeTwilio, a_wav
from tests.page_support import (
    audit_trail,
    request_by_call,
    requests_in,
    sign_in,
)
from tests.rows import add_call, add_recording
from tests.support import hotline_of

Dial = Callable[..., Phone]


def fetch(app: Flask) -> Result:
    return app.test_cli_runner().invoke(args=["recordings", "fetch"])


def the_recording(app: Flask) -> Recording:
    with app.app_context():
        [recording] = db.session.scalars(sa.select(Recording))
        db.session.expunge(recording)
        return recording


def our_copies(app: Flask) -> list[RecordingCopy]:
    with app.app_context():
        copies = list(db.session.scalars(sa.select(RecordingCopy)))
        db.session.expunge_all()
        return copies


def sid_of_the_message(app: Flask) -> str:
    [request] = requests_in(app)
    assert request.recording_sid is not None
    return request.recording_sid


def test_a_completed_message_is_copied_to_us_encrypted_and_then_deleted_at_twilio(
        app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_by_call(phone)
    sid = sid_of_the_message(app)
    assert twilio.fetched == [] and twilio.deleted == []  # the webhook left it to the job

    result = fetch(app)

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "recordings: 1 stored, 1 deleted at Twilio (0 gone there already), 0 still only at "
        "Twilio, 0 still to delete at Twilio"]
    [(url, authorization)] = twilio.fetched
    assert url.endswith(f"/Recordings/{sid}.wav") and authorization is not None
    assert twilio.deleted == [sid]
    assert [request.method for request in twilio.requests] == ["GET", "DELETE"]
    [copy] = our_copies(app)
    assert copy.recording_sid == sid
    assert b"RIFF" not in copy.audio.encode() and a_wav() not in copy.audio.encode()
    assert hotline_of(app).vault.unseal_audio(copy.audio) == a_wav()
    recording = the_recording(app)
    assert (recording.copy_state, recording.copy_attempts, recording.copy_error) == (
        "deleted", 2, None)


def test_nothing_is_fetched_twice_and_a_second_run_has_nothing_to_do(
        app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_by_call(phone)
    fetch(app)

    result = fetch(app)

    assert result.output.startswith("recordings: 0 stored, 0 deleted at Twilio")
    assert len(twilio.fetched) == 1 and len(twilio.deleted) == 1


@pytest.mark.parametrize(("failure", "why"), [(500, "HTTP 500"), (None, "ReadTimeout")],
                         ids=["twilio-error", "timeout"])
def test_a_download_that_fails_leaves_the_message_at_twilio_for_the_next_run(
        app: Flask, phone: Dial, twilio: FakeTwilio, failure: int | None, why: str) -> None:
    request_by_call(phone)
    sid = sid_of_the_message(app)
    twilio.fail_fetches(failure)

    first = fetch(app)

    assert first.exit_code == 0
    assert "0 stored, 0 deleted at Twilio (0 gone there already), 1 still only at Twilio" \
        in first.output
    assert f"tried again next run: {sid}: fetching a recording failed: {why}" in first.stderr
    assert twilio.deleted == [] and our_copies(app) == []
    recording = the_recording(app)
    assert (recording.copy_state, recording.copy_attempts) == ("pending", 1)
    assert recording.copy_error is not None and why in recording.copy_error

    second = fetch(app)

    assert "1 stored, 1 deleted at Twilio" in second.output
    assert twilio.deleted == [sid]
    assert the_recording(app).copy_state == "deleted"


def test_a_store_that_fails_deletes_nothing_at_twilio(
        app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_by_call(phone)
    sid = sid_of_the_message(app)
    engine = hotline_of(app).engine

    def disk_full(_connection: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO RECORDING_COPIES"):
            raise sa.exc.OperationalError(statement, {}, Exception("disk full"))

    sa.event.listen(engine, "before_cursor_execute", disk_full)
    try:
        first = fetch(app)
    finally:
        sa.event.remove(engine, "before_cursor_execute", disk_full)

    assert first.exit_code == 0
    assert f"{sid}: storing it failed: OperationalError" in first.stderr
    assert len(twilio.fetched) == 1 and twilio.deleted == []
    assert our_copies(app) == [] and the_recording(app).copy_state == "pending"

    fetch(app)

    assert twilio.deleted == [sid] and len(our_copies(app)) == 1


def test_a_delete_that_fails_keeps_our_copy_and_is_tried_again_without_fetching_again(
        app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_by_call(phone)
    sid = sid_of_the_message(app)
    twilio.refuse_deletes()

    first = fetch(app)

    assert "1 stored, 0 deleted at Twilio (0 gone there already), 0 still only at Twilio, " \
           "1 still to delete at Twilio" in first.output
    assert the_recording(app).copy_state == "stored" and len(our_copies(app)) == 1

    twilio.accept_deletes()
    second = fetch(app)

    assert "0 stored, 1 deleted at Twilio" in second.output
    assert len(twilio.fetched) == 1 and twilio.deleted == [sid, sid]
    assert the_recording(app).copy_state == "deleted" and len(our_copies(app)) == 1


def test_a_message_twilio_no_longer_has_once_we_stored_it_counts_as_deleted(
        app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_by_call(phone)
    twilio.refuse_deletes()
    fetch(app)
    twilio.lose_recording(status=404)

    result = fetch(app)

    assert "0 stored, 0 deleted at Twilio (1 gone there already)" in result.output
    assert the_recording(app).copy_state == "deleted" and len(our_copies(app)) == 1


def test_a_message_twilio_no_longer_has_before_we_stored_it_is_not_given_up_on(
        app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_by_call(phone)
    twilio.lose_recording(status=404)

    fetch(app)
    fetch(app)

    recording = the_recording(app)
    assert (recording.copy_state, recording.copy_attempts) == ("pending", 2)
    assert twilio.deleted == []


def test_a_recording_twilio_reported_failed_is_not_fetched(app: Flask,
                                                          twilio: FakeTwilio) -> None:
    with app.app_context():
        db.session.add(Recording(recording_sid="RE" + "f" * 32, call_sid="CA" + "f" * 32,
                                 status="failed", at=hotline_of(app).clock.now()))
        db.session.commit()

    result = fetch(app)

    assert result.output.startswith("recordings: 0 stored, 0 deleted at Twilio")
    assert twilio.fetched == []


def test_wrong_twilio_credentials_end_the_run_in_one_line(
        app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_by_call(phone)
    twilio.fail_fetches(401)

    result = fetch(app)

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "ivr: Twilio refused the account's credentials (HTTP 401): check TWILIO_ACCOUNT_SID "
        "and TWILIO_AUTH_TOKEN"]
    assert twilio.deleted == [] and the_recording(app).copy_state == "pending"


def test_the_runner_calls_one_plain_function(app: Flask, phone: Dial,
                                             twilio: FakeTwilio) -> None:
    request_by_call(phone)

    fetched = recordings.fetch_recordings(hotline_of(app))

    assert (fetched.stored, fetched.deleted, fetched.waiting, fetched.undeleted) == (1, 1, 0, 0)


# The operators' page.

@pytest.fixture
def olena_holding(page: Flask, phone: Dial) -> tuple[FlaskClient, int]:
    request_by_call(phone)
    [request] = requests_in(page)
    olena = sign_in(page, "olena")
    olena.post(f"/operators/requests/{request.id}/claim")
    return olena, request.id


def test_the_page_says_the_message_is_still_at_twilio_until_we_have_it(
        page: Flask, olena_holding: tuple[FlaskClient, int], twilio: FakeTwilio) -> None:
    olena, request_id = olena_holding

    before = olena.get(f"/operators/requests/{request_id}").get_data(as_text=True)
    fetch(page)
    after = olena.get(f"/operators/requests/{request_id}").get_data(as_text=True)

    assert "The message is still at Twilio; we are fetching our copy." in before
    assert "still at Twilio" not in after
    assert f'src="/operators/requests/{request_id}/recording"' in after
    assert "twilio.com" not in before + after


def test_the_page_plays_our_copy_once_twilio_has_deleted_its_own(
        page: Flask, olena_holding: tuple[FlaskClient, int], twilio: FakeTwilio) -> None:
    olena, request_id = olena_holding
    fetch(page)
    twilio.lose_recording(status=404)  # deleted there: only ours is left

    response = olena.get(f"/operators/requests/{request_id}/recording")

    assert response.status_code == 200 and response.mimetype == "audio/wav"
    assert response.data == a_wav()
    assert response.headers["Cache-Control"] == "no-store"
    assert len(twilio.fetched) == 1, "played from our copy, not fetched from Twilio again"
    assert ("olena", "play", request_id) in audit_trail(page)


def test_our_copy_is_not_played_to_someone_who_does_not_hold_the_request(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_by_call(phone)
    [request] = requests_in(page)
    fetch(page)

    response = sign_in(page, "olena").get(f"/operators/requests/{request.id}/recording")

    assert response.status_code == 302
    assert ("olena", "play", request.id) not in audit_trail(page)


def test_on_postgresql_too_a_message_is_copied_then_deleted_at_twilio(
        postgres_app: Flask, twilio: FakeTwilio) -> None:
    hotline = hotline_of(postgres_app)
    message = add_recording(postgres_app, hotline.clock.now(), add_call(postgres_app,
                                                                        hotline.clock.now()))

    result = fetch(postgres_app)

    assert result.exit_code == 0, result.output
    assert twilio.deleted == [message]
    [copy] = our_copies(postgres_app)
    assert hotline.vault.unseal_audio(copy.audio) == a_wav()
    assert the_recording(postgres_app).copy_state == "deleted"
