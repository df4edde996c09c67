"""Main menu 1: a caller reaches an on-duty operator of their language, or leaves a request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from ivr.database import db
from ivr.models import CallbackRequest, CallEvent, Ring
from ivr.operators import accounts, availability
from ivr.twilio.phone_simulator import Heard, Phone
from ivr.voice import queue
from tests.conftest import phone_for
from tests.fake_twilio import FakeTwilio
from tests.support import (
    BASE_URL,
    HOTLINE,
    at_the_main_menu,
    fails_once,
    hotline_of,
    prompts,
    stored_calls,
    stored_events,
)

Dial = Callable[..., Phone]
NIGHT = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 04:00 in Kyiv, 02:00 in London
OLENA = "+380501112233"
TARAS = "+380671112233"


def on_duty(app: Flask, login: str, phone: str, languages: str) -> None:
    with app.app_context():
        accounts.add_operator(db.session(), hotline_of(app).vault, login=login, name=login,
                              phone=phone, languages=languages.split(","),
                              known_languages=("ru", "uk", "en"), role="operator",
                              password="a long enough password")
        accounts.set_duty(db.session(), login, True)
        db.session.commit()


def asks_for_an_operator(phone: Dial, caller: str = "+380501234567"
                         ) -> tuple[Phone, list[Heard]]:
    """A Ukrainian caller who dials, chooses Ukrainian and presses 1 for an operator."""
    call = phone(caller=caller)
    call.dial()
    call.press("2")
    return call, call.press("1")


def finish_request(call: Phone) -> None:
    """Confirm the number, answer yes and any time, leave no message."""
    call.press("1")
    call.press("1")
    call.press("1")
    call.wait()
    assert call.hung_up


def rings(app: Flask) -> list[Ring]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Ring).order_by(Ring.id)))


def requests_of(app: Flask) -> list[CallbackRequest]:
    with app.app_context():
        return list(db.session.scalars(sa.select(CallbackRequest)))


def operator_phone(app: Flask, placed: dict[str, str]) -> Phone:
    """The operator's phone, for the call we asked Twilio to place to it."""
    phone = phone_for(app)(caller=HOTLINE, hotline=placed["To"], call_sid=placed["Sid"])
    phone.direction = "outbound-api"
    return phone


def test_caller_waits_for_an_operator_who_speaks_their_language(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk,ru")
    on_duty(desk_app, "john", "+447911123456", "en")

    call, heard = asks_for_an_operator(phone)

    assert prompts(heard) == [("uk", "queue_joined"), ("uk", "queue_leave_hint"),
                              ("uk", "queue_position"), ("uk", "number_1"), ("uk", "hold_music")]
    assert call.queued is not None and call.listening
    [placed] = twilio.placed
    assert placed["To"] == OLENA and placed["From"] == HOTLINE
    assert placed["Url"].startswith(f"{BASE_URL}/voice/operator/answer?ring=")
    assert placed["StatusCallback"].startswith(f"{BASE_URL}/voice/operator/status?ring=")
    assert placed["Timeout"] == "20"
    [ring] = rings(desk_app)
    assert (ring.language, ring.status) == ("uk", "ringing")


def test_pressing_1_joins_the_queue_in_the_same_answer(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk,ru")
    call, requested = at_the_main_menu(phone)

    call.press("1")

    assert call.queued is not None
    assert "/voice/operator" not in requested  # no round trip through a redirect
    assert [placed["To"] for placed in twilio.placed] == [OLENA]  # rung as the caller joined
    steps = [(event.kind, event.node) for event in stored_events(desk_app, call.call_sid)]
    assert ("operator", "operator") in steps


def test_with_nobody_on_duty_pressing_1_asks_for_the_number_in_the_same_answer(
        desk_app: Flask, phone: Dial) -> None:
    call, requested = at_the_main_menu(phone)

    heard = call.press("1")

    assert prompts(heard)[:2] == [("uk", "operator_nobody"), ("uk", "callback_confirm")]
    assert requested == ["/voice/menu/input"]


def test_a_queue_that_cannot_be_joined_at_once_is_joined_when_twilio_follows_the_redirect(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio,
        monkeypatch: pytest.MonkeyPatch) -> None:
    on_duty(desk_app, "olena", OLENA, "uk,ru")
    monkeypatch.setattr(queue, "availability_now", fails_once(availability.availability_now))
    call, requested = at_the_main_menu(phone)

    call.press("1")

    assert call.queued is not None
    assert requested[:2] == ["/voice/menu/input", "/voice/operator"]
    assert [placed["To"] for placed in twilio.placed] == [OLENA]


def test_operator_hears_the_language_accepts_and_is_put_through(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk,ru")
    call, _ = asks_for_an_operator(phone)
    olena = operator_phone(desk_app, twilio.placed[0])

    assert prompts(olena.answer(twilio.placed[0]["Url"])) == [("uk", "operator_whisper")]
    olena.press("1")
    assert olena.dialing is not None and olena.dialing.queue == "hotline-uk"
    assert prompts(call.put_through(olena)) == [("uk", "queue_connecting")]
    caller_after, operator_after = call.conversation_ends(olena)

    assert prompts(caller_after) == [("uk", "queue_goodbye")]
    assert olena.hung_up and operator_after == []
    [ring] = rings(desk_app)
    assert (ring.status, ring.outcome, ring.caller_call_sid) == ("ended", "accepted",
                                                                 call.call_sid)
    [olena_leg] = [leg for leg in stored_calls(desk_app) if leg.call_sid == olena.call_sid]
    assert olena_leg.parent_call_sid == call.call_sid
    with desk_app.app_context():
        bridge = db.session.scalars(sa.select(CallEvent).where(
            CallEvent.call_sid == olena.call_sid, CallEvent.kind == "bridge")).one()
    assert bridge.parent_call_sid == call.call_sid
    assert requests_of(desk_app) == []


def test_an_operator_who_does_not_accept_is_skipped(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    on_duty(desk_app, "taras", TARAS, "uk")
    call, _ = asks_for_an_operator(phone)
    first = operator_phone(desk_app, twilio.placed[0])

    first.answer(twilio.placed[0]["Url"])
    first.wait()  # voicemail: nobody presses anything
    call.wait()  # the next round of the wait music

    assert first.hung_up
    assert [placed["To"] for placed in twilio.placed] == [OLENA, TARAS]
    assert [(ring.status, ring.outcome) for ring in rings(desk_app)] == [
        ("ended", "not-accepted"), ("ringing", None)]


def test_an_operator_is_rung_once_however_often_the_music_loops(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    call, _ = asks_for_an_operator(phone)

    call.wait()
    call.wait()

    assert len(twilio.placed) == 1


def test_caller_who_presses_a_key_while_waiting_leaves_a_request(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    call, _ = asks_for_an_operator(phone)

    heard = call.press("5")

    assert call.queued is None
    assert prompts(heard)[0] == ("uk", "callback_confirm")
    finish_request(call)
    [request] = requests_of(desk_app)
    assert request.reason == "chosen"


def test_caller_who_waited_too_long_is_offered_the_callback_request(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    call, _ = asks_for_an_operator(phone)
    for _ in range(5):
        call.wait()  # 150 seconds of music

    heard = call.wait()  # 180 seconds: the maximum wait

    assert prompts(heard)[:2] == [("uk", "queue_too_long"), ("uk", "callback_confirm")]
    finish_request(call)
    assert requests_of(desk_app)[0].reason == "waited_too_long"


def test_caller_who_hangs_up_in_the_queue_is_not_forgotten(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    call, _ = asks_for_an_operator(phone)

    call.hang_up()

    [request] = requests_of(desk_app)
    assert (request.reason, request.priority, request.number_confirmed) == ("queue_hangup", 1,
                                                                           False)
    assert hotline_of(desk_app).vault.decrypt(request.number) == "+380501234567"


def test_withheld_caller_who_hangs_up_in_the_queue_leaves_nothing_to_call(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    call = phone(caller="anonymous")
    call.dial()
    call.press("2")
    assert prompts(call.press("1"))[0] == ("uk", "queue_joined")

    call.hang_up()

    assert requests_of(desk_app) == []
    assert "queue:abandoned" in [event.outcome for event in stored_events(desk_app)]


def test_nobody_on_duty_goes_straight_to_the_callback_request(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "john", "+447911123456", "en")  # on duty, but not for Ukrainian
    call = phone(caller="+380501234567")
    call.dial()
    call.press("2")

    heard = call.press("1")

    assert prompts(heard)[:2] == [("uk", "operator_nobody"), ("uk", "callback_confirm")]
    assert twilio.requests == []
    finish_request(call)
    assert requests_of(desk_app)[0].reason == "no_operator"


def test_out_of_hours_goes_straight_to_the_callback_request(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    hotline_of(desk_app).clock.fixed = NIGHT
    call = phone(caller="+380501234567")
    call.dial()
    call.press("2")

    heard = call.press("1")

    assert prompts(heard)[:2] == [("uk", "operator_closed"), ("uk", "callback_confirm")]
    assert twilio.requests == []


def test_surge_sends_callers_of_that_language_to_the_callback_request(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk,ru")
    with desk_app.app_context():
        availability.set_surge(db.session(), "uk", True, by="test")
        db.session.commit()

    ukrainian = phone(caller="+380501234567")
    ukrainian.dial()
    ukrainian.press("2")
    russian = phone(caller="+380671234567")
    russian.dial()
    russian.press("1")

    assert prompts(ukrainian.press("1"))[:2] == [("uk", "operator_surge"),
                                                ("uk", "callback_confirm")]
    assert prompts(russian.press("1"))[0] == ("ru", "queue_joined")


def test_operator_who_accepts_after_the_caller_left_hears_so(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    call, _ = asks_for_an_operator(phone)
    call.hang_up()
    olena = operator_phone(desk_app, twilio.placed[0])
    olena.answer(twilio.placed[0]["Url"])
    olena.press("1")
    dialing = olena.dialing
    assert dialing is not None

    heard = olena.answer(dialing.action)  # <Dial> found nobody in the queue

    assert prompts(heard) == [("uk", "operator_no_caller")]


def call_is_waiting(heard: list[Heard]) -> bool:
    return ("uk", "hold_music") in prompts(heard)


def test_when_twilio_refuses_to_ring_the_caller_still_waits(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    twilio.refuse_calls(status=500)

    _, heard = asks_for_an_operator(phone)

    # Rung when the caller joined, and again with the wait music: asked for, and refused.
    assert twilio.placed
    assert all(refused["To"] == OLENA and "Sid" not in refused for refused in twilio.placed)
    assert prompts(heard)[0] == ("uk", "queue_joined")
    assert call_is_waiting(heard)
    assert rings(desk_app)
    assert all((ring.status, ring.outcome) == ("ended", "failed") for ring in rings(desk_app))


def test_operator_leg_status_callback_ends_the_ring_and_is_logged(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    asks_for_an_operator(phone)
    olena = operator_phone(desk_app, twilio.placed[0])

    code, _ = olena.post(twilio.placed[0]["StatusCallback"], {"CallStatus": "no-answer",
                                                            "SequenceNumber": "3"})

    assert code == 204
    [ring] = rings(desk_app)
    assert (ring.status, ring.outcome) == ("ended", "no-answer")
    [leg] = [leg for leg in stored_calls(desk_app) if leg.call_sid == olena.call_sid]
    assert (leg.direction, leg.status) == ("outbound-api", "no-answer")


def test_an_operators_phone_number_never_reaches_a_log(
        desk_app: Flask, phone: Dial, twilio: FakeTwilio,
        capsys: pytest.CaptureFixture[str]) -> None:
    on_duty(desk_app, "olena", OLENA, "uk")
    asks_for_an_operator(phone)
    olena = operator_phone(desk_app, twilio.placed[0])
    olena.answer(twilio.placed[0]["Url"])
    olena.press("1")

    logged = capsys.readouterr().err
    assert "operator:accepted" in logged  # her leg's webhooks were logged
    assert OLENA not in logged and OLENA[1:] not in logged
    assert "380501234567" not in logged


def test_unsigned_operator_webhooks_are_refused(desk_app: Flask) -> None:
    client = desk_app.test_client()
    for path in ("/voice/operator/answer?ring=1", "/voice/operator/accept?ring=1",
                 "/voice/queue/wait?lang=uk", "/voice/callback?lang=uk"):
        assert client.post(path, data={"CallSid": "CA" + "1" * 32}).status_code == 403


@pytest.mark.parametrize(("hours", "moment", "open_"), [
    ({"timezone": "Europe/Kyiv", "open": "08:00", "close": "23:00"},
     datetime(2026, 11, 25, 6, 0, tzinfo=UTC), True),  # 08:00 in Kyiv
    ({"timezone": "Europe/Kyiv", "open": "08:00", "close": "23:00"},
     datetime(2026, 11, 25, 5, 59, tzinfo=UTC), False),
    ({"timezone": "Europe/London", "open": "20:00", "close": "06:00"},
     datetime(2026, 11, 26, 3, 0, tzinfo=UTC), True),  # overnight
    ({"timezone": "Europe/London", "open": "20:00", "close": "06:00", "days": "mon-fri"},
     datetime(2026, 11, 29, 3, 0, tzinfo=UTC), False),  # Sunday 03:00: Saturday's night
    ({"timezone": "UTC", "open": "00:00", "close": "24:00", "days": "sat,sun"},
     datetime(2026, 11, 28, 23, 59, tzinfo=UTC), True),
])
def test_opening_hours(hours: dict[str, str], moment: datetime, open_: bool) -> None:
    from ivr.menu.menu_file import _hours

    assert _hours(hours, "operators.hours.x").open_at(moment) is open_

