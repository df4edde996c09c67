"""A full day of calls with call backs, the periodic work running all along: at the end of
it nothing of a finished call is left at Twilio (as the faked REST API holds its records)
but what is still inside its retention, and what we still need from Twilio."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ivr.database import db
from ivr.models import CallBackAttempt, CallbackRequest, RecordingCopy
from ivr.operations.periodic import Runner
from ivr.twilio.phone_simulator import Phone
from tests.conftest import phone_for
from tests.fake_twilio import FakeTwilio
from tests.page_support import LANGUAGE_KEYS, add_people, sign_in, without_csrf
from tests.support import hotline_of, signed_post, twilio_params

DAY = datetime(2026, 11, 29, tzinfo=UTC)
RETENTION = timedelta(hours=2)
TICK = timedelta(minutes=15)


class Day:
    """The hotline's clock, the calls Twilio saw end and when, and the periodic work."""

    def __init__(self, app: Flask, twilio: FakeTwilio) -> None:
        self.app = app
        self.twilio = twilio
        self.hotline = hotline_of(app)
        self.phone = phone_for(app)
        self.runner = Runner(self.hotline)
        self.ended: dict[str, datetime] = {}
        self.with_message: set[str] = set()
        self.now = DAY
        self.olena: FlaskClient = sign_in(app, "olena")
        self._numbers = iter(range(100_000))

    def wait_until(self, moment: datetime) -> None:
        """Time passes; the periodic work ticks every 15 minutes meanwhile."""
        while self.now + TICK <= moment:
            self.now += TICK
            self.hotline.clock.fixed = self.now
            assert self.hotline.call_log.drain()
            self.runner.tick()
        self.now = moment
        self.hotline.clock.fixed = moment

    def a_caller(self) -> Phone:
        caller = self.phone(caller=f"+38050{next(self._numbers):07d}")
        caller.dial()
        self.twilio.a_call_happened(caller.call_sid)
        return caller

    def hangs_up(self, caller: Phone, after: timedelta) -> None:
        end = self.now + after
        caller.status_callback("completed", CallDuration=str(int(after.total_seconds())),
                               SequenceNumber="9", Timestamp=format_datetime(end, usegmt=True))
        self.ended[caller.call_sid] = end

    def listener(self) -> None:
        """A caller who chooses a language, listens, and hangs up."""
        caller = self.a_caller()
        caller.press(LANGUAGE_KEYS["uk"])
        self.hangs_up(caller, timedelta(seconds=40))

    def asks_to_be_called_back(self, message: bool) -> int:
        caller = self.a_caller()
        for key in (LANGUAGE_KEYS["uk"], "2", "1", "2", "3"):  # callback request, this number
            caller.press(key)
        if message:
            caller.record(seconds=12)
            assert caller.last_recording is not None
            self.twilio.a_recording_happened(caller.last_recording[0])
            caller.recording_ready()
            self.with_message.add(caller.call_sid)
        self.hangs_up(caller, timedelta(minutes=2))
        with self.app.app_context():
            return db.session.scalars(sa.select(CallbackRequest.id).where(
                CallbackRequest.first_call_sid == caller.call_sid)).one()

    def call_back(self, request_id: int) -> None:
        """Olena calls the person back from the page: her leg, then the caller's it dials."""
        self.olena.post(f"/operators/requests/{request_id}/claim")
        self.olena.post(f"/operators/requests/{request_id}/call")
        operator_leg = self.twilio.placed[-1]["Sid"]
        caller_leg = "CA" + format(next(self._numbers), "032x")
        self.twilio.a_call_happened(caller_leg)
        end = self.now + timedelta(minutes=10)
        client = self.app.test_client()
        with self.app.app_context():
            attempt_id = db.session.scalars(sa.select(CallBackAttempt.id).where(
                CallBackAttempt.call_sid == operator_leg)).one()
        for path, sid in (("caller-status", caller_leg), ("status", operator_leg)):
            signed_post(client, f"/voice/callback-call/{path}?attempt={attempt_id}",
                        twilio_params(CallSid=sid, Direction="outbound-api",
                                      CallStatus="completed", CallDuration="600",
                                      SequenceNumber="3",
                                      Timestamp=format_datetime(end, usegmt=True)))
            self.ended[sid] = end


def test_after_a_day_of_calls_twilio_keeps_only_what_is_inside_its_retention(
        make_app: Callable[..., Flask], twilio: FakeTwilio) -> None:
    app = without_csrf(make_app(TWILIO_CALL_RETENTION_HOURS="2"))
    add_people(app)
    day = Day(app, twilio)
    for hour in range(24):
        day.wait_until(DAY + timedelta(hours=hour, minutes=5))
        day.listener()
        if hour % 3 == 0:
            request_id = day.asks_to_be_called_back(message=hour % 6 == 0)
            day.wait_until(day.now + timedelta(minutes=20))
            day.call_back(request_id)
    still_talking = day.a_caller()
    day.wait_until(DAY + timedelta(hours=24, minutes=30))

    recent = {sid for sid, end in day.ended.items() if end > day.now - RETENTION}
    assert len(day.ended) == 24 + 8 + 8 * 2  # listeners, requests, both legs of call backs
    assert recent and day.with_message - recent, "messages were left on finished calls"
    # The messages are ours (copied, then deleted at Twilio), so their calls went too.
    assert twilio.recordings == set()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RecordingCopy)) == len(
            day.with_message)
    assert twilio.call_records == recent | {still_talking.call_sid}
    assert not set(twilio.call_deletes) & (recent | {still_talking.call_sid}), (
        "no record was asked for before its retention ended")
