"""Presence and fair ringing: only operators who are on duty and available are rung; after a
conversation they wrap up; two missed rings in a row pause them until they say they are back;
a break, a pause or signing off takes them out of the ringing, and supervisors see who is
paused."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from ivr.database import db
from ivr.models import AuditEntry, CallBackAttempt, CallbackRequest, Operator, utcnow
from ivr.operators import accounts, call_back, presence
from ivr.settings import ConfigError, load_settings
from ivr.twilio.phone_simulator import Phone
from tests.conftest import NOON, phone_for
from tests.fake_twilio import FakeTwilio
from tests.page_support import add_people, request_by_call, sign_in, stop_clock, without_csrf
from tests.support import hotline_of, prompts
from tests.test_reaching_an_operator import asks_for_an_operator, operator_phone, rings

Dial = Callable[..., Phone]
OLENA = "+380501112233"  # Olena's phone in page_support.PEOPLE
SECOND_CALLER = "+380671234999"
INSTANCE = Path("/tmp/ivr-instance")


@pytest.fixture
def desk(desk_app: Flask) -> Flask:
    """At noon: Olena (Ukrainian and Russian) on duty and available, Ivan and Sofia too."""
    add_people(desk_app)
    put_on_duty(desk_app, "olena")
    return desk_app


def put_on_duty(app: Flask, login: str) -> None:
    with app.app_context():
        accounts.set_duty(db.session(), login, True)
        db.session.commit()


def olena(app: Flask) -> Operator:
    with app.app_context():
        return db.session.scalars(sa.select(Operator).where(Operator.login == "olena")).one()


def audit_of(app: Flask, action: str) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [(entry.login, entry.detail) for entry in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


def olena_talks_with(app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    """A Ukrainian caller reaches Olena; they talk; the conversation ends."""
    call, _ = asks_for_an_operator(phone)
    placed = twilio.placed[-1]
    operator = operator_phone(app, placed)
    operator.answer(placed["Url"])
    operator.press("1")
    call.put_through(operator)
    call.conversation_ends(operator)


def test_an_operator_who_misses_two_rings_in_a_row_is_paused_and_not_rung(
        desk: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    call, _ = asks_for_an_operator(phone)
    first = operator_phone(desk, twilio.placed[0])
    first.post(twilio.placed[0]["StatusCallback"], {"CallStatus": "no-answer"})
    assert olena(desk).missed_rings == 1 and olena(desk).presence == "available"

    call.wait()  # the music loops: Olena is rung again
    second = operator_phone(desk, twilio.placed[1])
    second.post(twilio.placed[1]["StatusCallback"], {"CallStatus": "busy"})

    assert (olena(desk).presence, olena(desk).missed_rings) == ("paused", 2)
    assert audit_of(desk, "paused") == [("system", "olena after 2 missed calls")]
    heard = call.wait()
    assert len(twilio.placed) == 2, "a paused operator is not rung"
    # Nobody else of the language is available: the caller is offered the callback request.
    assert ("uk", "operator_nobody") in prompts(heard)


def test_voicemail_counts_as_a_missed_ring_and_an_accepted_one_starts_the_count_again(
        desk: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    call, _ = asks_for_an_operator(phone)
    voicemail = operator_phone(desk, twilio.placed[0])
    voicemail.answer(twilio.placed[0]["Url"])
    voicemail.wait()  # the whisper plays to a machine: nobody presses 1
    assert olena(desk).missed_rings == 1

    call.wait()
    picked_up = operator_phone(desk, twilio.placed[1])
    picked_up.answer(twilio.placed[1]["Url"])
    picked_up.press("1")

    assert (olena(desk).presence, olena(desk).missed_rings) == ("available", 0)


def test_a_ring_twilio_refused_to_place_is_not_the_operators_miss(
        desk: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    twilio.refuse_calls(status=500)

    asks_for_an_operator(phone)

    assert rings(desk) and olena(desk).missed_rings == 0


def test_a_paused_operator_sees_why_and_is_rung_again_once_available(
        desk: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    with desk.app_context():
        for _ in range(2):
            presence.ring_missed(db.session(), olena(desk).id, NOON, limit=2)
        db.session.commit()
    client = sign_in(without_csrf(desk), "olena")

    page = client.get("/operators/").get_data(as_text=True)
    assert "You are paused after 2 missed calls in a row" in page
    client.post("/operators/presence", data={"presence": "available",
                                             "next": "/operators/"})

    assert (olena(desk).presence, olena(desk).missed_rings) == ("available", 0)
    assert "You are paused" not in client.get("/operators/").get_data(as_text=True)
    asks_for_an_operator(phone)
    assert [placed["To"] for placed in twilio.placed] == [OLENA]


def test_supervisors_see_who_is_paused_on_figures_and_the_wallboard(desk: Flask) -> None:
    with desk.app_context():
        for _ in range(2):
            presence.ring_missed(db.session(), olena(desk).id, NOON, limit=2)
        db.session.commit()
    sofia = sign_in(without_csrf(desk), "sofia")

    figures = sofia.get("/operators/figures").get_data(as_text=True)
    board = sofia.get("/operators/board").get_data(as_text=True)

    assert "paused after 2 missed calls" in figures
    assert "paused after 2 missed calls" in board
    assert sofia.get("/operators/board/figures.json").get_json()["operators"]["paused"] == 1


def test_an_operator_on_a_break_is_not_rung_and_callers_are_offered_a_request(
        desk: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    client = sign_in(without_csrf(desk), "olena")
    client.post("/operators/presence", data={"presence": "break"})

    _, heard = asks_for_an_operator(phone)

    assert olena(desk).presence == "break"
    assert twilio.placed == []
    assert prompts(heard)[0] == ("uk", "operator_nobody")


def test_after_a_conversation_the_operator_wraps_up_for_wrap_up_seconds(
        make_app: Callable[..., Flask], twilio: FakeTwilio) -> None:
    app = make_app(WRAP_UP_SECONDS="90")
    stop_clock(app, NOON)
    add_people(app, "olena")
    put_on_duty(app, "olena")
    phone = phone_for(app)
    olena_talks_with(app, phone, twilio)
    assert olena(app).wrap_up_until == NOON + timedelta(seconds=90)

    # The next caller queues for her (she still counts as staffed) but she is not rung...
    waiting, heard = asks_for_an_operator(phone, caller=SECOND_CALLER)
    assert waiting.queued is not None and ("uk", "operator_nobody") not in prompts(heard)
    stop_clock(app, NOON + timedelta(seconds=89))
    waiting.wait()
    assert len(twilio.placed) == 1

    # ...until her wrap-up is over.
    stop_clock(app, NOON + timedelta(seconds=91))
    waiting.wait()
    assert [placed["To"] for placed in twilio.placed] == [OLENA, OLENA]


def test_ready_ends_the_wrap_up_early(desk: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    olena_talks_with(desk, phone, twilio)
    client = sign_in(without_csrf(desk), "olena")
    assert "Ready" in client.get("/operators/").get_data(as_text=True)

    client.post("/operators/presence", data={"presence": "available"})
    asks_for_an_operator(phone, caller=SECOND_CALLER)

    assert olena(desk).wrap_up_until is None
    assert len(twilio.placed) == 2
    assert audit_of(desk, "presence")[-1] == ("olena", "ready (wrap-up ended)")


def test_no_wrap_up_when_wrap_up_seconds_is_0(
        make_app: Callable[..., Flask], twilio: FakeTwilio) -> None:
    app = make_app(WRAP_UP_SECONDS="0")
    stop_clock(app, NOON)
    add_people(app, "olena")
    put_on_duty(app, "olena")
    olena_talks_with(app, phone_for(app), twilio)

    assert olena(app).wrap_up_until is None


def test_an_operator_who_called_someone_back_wraps_up_after(
        desk: Flask, phone: Dial) -> None:
    request_by_call(phone)
    with desk.app_context():
        request = db.session.scalars(sa.select(CallbackRequest)).one()
        attempt = CallBackAttempt(request_id=request.id, operator_id=olena(desk).id,
                                  started_at=NOON, call_sid="CA" + "5" * 32,
                                  operator_status="in-progress")
        db.session.add(attempt)
        db.session.commit()
        attempt_id = attempt.id
        assert presence.ringable(db.session(), "uk", NOON) == [], "in a call back"

    call_back.operator_progress(hotline_of(desk), attempt_id, "completed")

    assert olena(desk).wrap_up_until == NOON + timedelta(seconds=60)


def test_a_presence_that_is_not_one_of_the_three_gets_a_readable_400(desk: Flask) -> None:
    client = sign_in(without_csrf(desk), "olena")

    for value in ("paused", "lunch", "", "available\x00"):
        response = client.post("/operators/presence", data={"presence": value})
        assert response.status_code == 400
        assert "The request was not understood" in response.get_data(as_text=True)
    assert olena(desk).presence == "available"
    assert audit_of(desk, "presence") == []


def test_a_presence_form_without_its_csrf_token_is_refused(desk: Flask) -> None:
    client = sign_in(without_csrf(desk), "olena")
    desk.config["WTF_CSRF_ENABLED"] = True

    response = client.post("/operators/presence", data={"presence": "break"})

    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)
    assert olena(desk).presence == "available"


def test_a_stranger_cannot_set_anyones_presence(desk: Flask) -> None:
    response = without_csrf(desk).test_client().post("/operators/presence",
                                                     data={"presence": "break"})

    assert response.status_code == 302 and "/operators/login" in response.location
    assert olena(desk).presence == "available"


def test_every_presence_change_is_audited_and_signing_out_signs_off(desk: Flask) -> None:
    client = sign_in(without_csrf(desk), "olena")

    client.post("/operators/presence", data={"presence": "break"})
    client.post("/operators/presence", data={"presence": "available"})
    client.post("/operators/logout")

    assert audit_of(desk, "presence") == [("olena", "available -> break"),
                                          ("olena", "break -> available")]
    assert olena(desk).presence == "signed_off"


def test_signing_in_again_leaves_the_operator_signed_off_until_they_say_available(
        desk: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    client = sign_in(without_csrf(desk), "olena")
    client.post("/operators/logout")
    client = sign_in(without_csrf(desk), "olena")

    page = client.get("/operators/").get_data(as_text=True)
    _, heard = asks_for_an_operator(phone)

    assert 'id="my-presence">Signed off' in page
    assert twilio.placed == [] and prompts(heard)[0] == ("uk", "operator_nobody")


def test_an_available_operator_off_duty_is_told_why_nobody_rings(desk: Flask) -> None:
    client = sign_in(without_csrf(desk), "ivan")
    client.post("/operators/presence", data={"presence": "available"})

    page = client.get("/operators/").get_data(as_text=True)

    assert "You are available but not on duty" in page


def test_the_duty_command_works_as_before_and_sets_presence(
        app: Flask, runner: FlaskCliRunner) -> None:
    add_people(app, "olena")

    on = runner.invoke(args=["operators", "duty", "olena", "on"])
    assert (on.exit_code, on.output) == (0, "olena is on duty\n")
    assert (olena(app).on_duty, olena(app).presence) == (True, "available")
    off = runner.invoke(args=["operators", "duty", "olena", "off"])
    assert (off.exit_code, off.output) == (0, "olena is off duty\n")
    assert (olena(app).on_duty, olena(app).presence) == (False, "signed_off")


def test_a_supervisor_taking_someone_off_duty_signs_them_off(desk: Flask) -> None:
    sofia = sign_in(without_csrf(desk), "sofia")

    sofia.post("/operators/duty/olena", data={"on": "0"})

    assert (olena(desk).on_duty, olena(desk).presence) == (False, "signed_off")


@pytest.mark.parametrize(("name", "value"), [("WRAP_UP_SECONDS", "1801"),
                                             ("WRAP_UP_SECONDS", "-1"),
                                             ("WRAP_UP_SECONDS", "a minute"),
                                             ("MISSED_RINGS_TO_PAUSE", "21")])
def test_an_absurd_wrap_up_or_pause_setting_stops_start_up_naming_it(name: str,
                                                                      value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value}, INSTANCE)


def test_settings_default_to_a_minute_of_wrap_up_and_a_pause_after_two_misses() -> None:
    settings = load_settings({}, INSTANCE)

    assert (settings.wrap_up_seconds, settings.missed_rings_to_pause) == (60, 2)


def test_missed_rings_to_pause_0_never_pauses(desk: Flask) -> None:
    with desk.app_context():
        for _ in range(5):
            presence.ring_missed(db.session(), olena(desk).id, utcnow(), limit=0)
        db.session.commit()

    assert olena(desk).presence == "available"


def test_an_operator_in_a_call_still_counts_so_the_next_caller_waits_for_her(
        desk: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    call, _ = asks_for_an_operator(phone)
    operator = operator_phone(desk, twilio.placed[0])
    operator.answer(twilio.placed[0]["Url"])
    operator.press("1")
    call.put_through(operator)

    waiting, heard = asks_for_an_operator(phone, caller=SECOND_CALLER)

    assert waiting.queued is not None and ("uk", "operator_nobody") not in prompts(heard)
    assert len(twilio.placed) == 1, "not rung while she talks"
