"""An operator calls a person back with one click: Twilio rings the operator first, then the
caller, showing the hotline's number; the message plays through the app."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ivr.database import db
from ivr.models import CallBackAttempt
from ivr.twilio.phone_simulator import Phone
from tests.conftest import phone_for
from tests.fake_twilio import FakeTwilio
from tests.page_support import (
    RUSSIAN_CALLER,
    UKRAINIAN_CALLER,
    add_people,
    audit_trail,
    request_by_call,
    requests_in,
    sign_in,
    stop_clock,
    without_csrf,
)
from tests.support import HOTLINE, signed_post, twilio_params

Dial = Callable[..., Phone]
OLENA_PHONE = "+380501112233"


def claimed_request(page: Flask, phone: Dial) -> tuple[FlaskClient, int]:
    request_by_call(phone)
    [request] = requests_in(page)
    olena = sign_in(page, "olena")
    olena.post(f"/operators/requests/{request.id}/claim")
    return olena, request.id


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def attempts(app: Flask) -> list[CallBackAttempt]:
    with app.app_context():
        return list(db.session.scalars(sa.select(CallBackAttempt).order_by(CallBackAttempt.id)))


def test_call_back_rings_the_operator_first_from_the_hotline_number(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    olena, request_id = claimed_request(page, phone)

    response = olena.post(f"/operators/requests/{request_id}/call", follow_redirects=True)

    assert "Your phone will ring now" in response.get_data(as_text=True)
    [placed] = twilio.placed
    assert (placed["To"], placed["From"]) == (OLENA_PHONE, HOTLINE)
    assert placed["Url"].startswith("http://localhost/voice/callback-call/answer?attempt=")
    assert UKRAINIAN_CALLER not in json.dumps(placed)
    [attempt] = attempts(page)
    assert (attempt.call_sid, attempt.operator_status) == (placed["Sid"], "queued")
    assert ("olena", "call", request_id) in audit_trail(page)


def test_operator_who_presses_1_is_connected_to_the_caller_with_the_hotline_as_caller_id(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    olena, request_id = claimed_request(page, phone)
    olena.post(f"/operators/requests/{request_id}/call")
    [placed] = twilio.placed
    client = page.test_client()
    leg = twilio_params(CallSid=placed["Sid"], From=HOTLINE, To=OLENA_PHONE,
                        Direction="outbound-api")

    answered = signed_post(client, path_of(placed["Url"]), leg).get_data(as_text=True)
    accept = re.search(r'action="(/voice/callback-call/accept[^"]+)"', answered)
    assert accept is not None and "<Gather" in answered
    # "You are calling back someone who speaks Ukrainian. To connect, press 1."
    assert "/prompts/uk/callback_call_whisper.wav" in answered
    dialled = signed_post(client, accept.group(1).replace("&amp;", "&"),
                          {**leg, "Digits": "1"}).get_data(as_text=True)

    assert f'callerId="{HOTLINE}"' in dialled
    assert f">{UKRAINIAN_CALLER}</Number>" in dialled
    assert "/voice/callback-call/caller-status?attempt=" in dialled


def test_silence_on_the_operators_phone_dials_nobody(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    olena, request_id = claimed_request(page, phone)
    olena.post(f"/operators/requests/{request_id}/call")
    [attempt] = attempts(page)
    leg = twilio_params(CallSid=twilio.placed[0]["Sid"], Direction="outbound-api")

    twiml = signed_post(page.test_client(), f"/voice/callback-call/accept?attempt={attempt.id}",
                        leg).get_data(as_text=True)

    assert "<Hangup" in twiml and UKRAINIAN_CALLER not in twiml


def test_an_unsigned_request_to_the_call_back_webhooks_is_refused(page: Flask) -> None:
    for path in ("/voice/callback-call/answer?attempt=1", "/voice/callback-call/accept?attempt=1",
                 "/voice/callback-call/status?attempt=1"):
        assert page.test_client().post(path, data={"Digits": "1"}).status_code == 403


def test_progress_comes_back_through_status_callbacks_and_never_goes_backwards(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    olena, request_id = claimed_request(page, phone)
    olena.post(f"/operators/requests/{request_id}/call")
    [attempt] = attempts(page)
    client = page.test_client()
    leg = twilio_params(CallSid=twilio.placed[0]["Sid"], Direction="outbound-api")

    signed_post(client, f"/voice/callback-call/status?attempt={attempt.id}",
                {**leg, "CallStatus": "in-progress", "SequenceNumber": "2"})
    signed_post(client, f"/voice/callback-call/caller-status?attempt={attempt.id}",
                {**leg, "CallSid": "CA" + "7" * 32, "CallStatus": "ringing"})
    live = olena.get(f"/operators/requests/{request_id}/progress").get_data(as_text=True)
    signed_post(client, f"/voice/callback-call/caller-status?attempt={attempt.id}",
                {**leg, "CallSid": "CA" + "7" * 32, "CallStatus": "completed"})
    signed_post(client, f"/voice/callback-call/status?attempt={attempt.id}",
                {**leg, "CallStatus": "completed", "SequenceNumber": "3"})
    signed_post(client, f"/voice/callback-call/status?attempt={attempt.id}",
                {**leg, "CallStatus": "ringing", "SequenceNumber": "1"})  # late

    assert "Caller: ringing" in live and 'data-live="1"' in live
    [attempt] = attempts(page)
    assert (attempt.operator_status, attempt.caller_status) == ("completed", "completed")
    assert attempt.ended_at is not None
    ended = olena.get(f"/operators/requests/{request_id}/progress").get_data(as_text=True)
    assert 'data-live="0"' in ended


def test_the_outcome_after_a_call_is_filed_on_that_call(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    olena, request_id = claimed_request(page, phone)
    olena.post(f"/operators/requests/{request_id}/call")

    olena.post(f"/operators/requests/{request_id}/outcome", data={"outcome": "reached"})

    [attempt] = attempts(page)
    assert (attempt.call_sid is not None, attempt.outcome) == (True, "reached")


def test_a_second_click_while_the_call_is_on_places_no_second_call(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    olena, request_id = claimed_request(page, phone)
    olena.post(f"/operators/requests/{request_id}/call")

    response = olena.post(f"/operators/requests/{request_id}/call", follow_redirects=True)

    assert "already under way" in response.get_data(as_text=True)
    assert len(twilio.placed) == 1


def test_when_twilio_refuses_the_operator_is_told_and_the_attempt_fails(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    olena, request_id = claimed_request(page, phone)
    twilio.refuse_calls(status=500)

    response = olena.post(f"/operators/requests/{request_id}/call", follow_redirects=True)

    [refused] = twilio.placed  # asked for, and refused
    assert refused["To"] == OLENA_PHONE and "Sid" not in refused
    assert response.status_code == 200
    assert "The call could not be placed" in response.get_data(as_text=True)
    [attempt] = attempts(page)
    assert (attempt.operator_status, attempt.ended_at is not None) == ("failed", True)


def test_nobody_calls_back_a_request_they_do_not_hold(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_by_call(phone)
    [request] = requests_in(page)

    response = sign_in(page, "olena").post(f"/operators/requests/{request.id}/call",
                                           follow_redirects=True)

    assert "This request is not yours now" in response.get_data(as_text=True)
    assert twilio.placed == []


def test_the_message_plays_through_the_app_with_twilio_out_of_sight(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    olena, request_id = claimed_request(page, phone)
    html = olena.get(f"/operators/requests/{request_id}").get_data(as_text=True)

    response = olena.get(f"/operators/requests/{request_id}/recording")

    assert f'src="/operators/requests/{request_id}/recording"' in html
    assert "twilio.com" not in html
    assert response.status_code == 200 and response.mimetype == "audio/wav"
    assert response.data.startswith(b"RIFF")
    [(url, authorization)] = twilio.fetched
    assert url.endswith(f"/Recordings/{requests_in(page)[0].recording_sid}.wav")
    assert authorization is not None and authorization.startswith("Basic ")
    assert ("olena", "play", request_id) in audit_trail(page)


def test_the_message_is_not_played_to_someone_who_does_not_hold_the_request(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_by_call(phone)
    [request] = requests_in(page)

    response = sign_in(page, "olena").get(f"/operators/requests/{request.id}/recording")

    assert response.status_code == 302
    assert twilio.fetched == []


def test_when_twilio_cannot_give_the_message_the_page_says_so(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    olena, request_id = claimed_request(page, phone)
    twilio.lose_recording(status=404)

    response = olena.get(f"/operators/requests/{request_id}/recording")

    assert len(twilio.fetched) == 1
    assert response.status_code == 502
    assert "Twilio did not answer" in response.get_data(as_text=True)


def test_the_call_button_warns_outside_the_callers_safe_time(page: Flask, phone: Dial) -> None:
    stop_clock(page, datetime(2030, 1, 15, 8, 0, tzinfo=UTC))  # 10:00 in Kyiv
    olena, request_id = claimed_request(page, phone)  # safe in the evening

    html = olena.get(f"/operators/requests/{request_id}").get_data(as_text=True)

    assert "It is 10:00 for them: outside the time they said is safe" in html
    assert 'class="danger"' in html


UK_NEUTRAL, DEFAULT_NEUTRAL = "+380441234567", "+441234567890"
POOL = f"{DEFAULT_NEUTRAL},{HOTLINE},+380:{UK_NEUTRAL}"
POLISH_CALLER = "+48601234567"


@pytest.fixture
def pooled_page(make_app: Callable[..., Flask]) -> Flask:
    """A hotline with a pool of numbers for call backs that allows the published one."""
    app = make_app(CALLBACK_CALLER_IDS=POOL, CALLBACK_MAY_SHOW_HOTLINE_NUMBER="true")
    add_people(app)
    return without_csrf(app)


def dialled_from(page: Flask, twilio: FakeTwilio, caller: str, identify: bool) -> tuple[str, str]:
    """A caller asks for a call back; Olena calls and presses 1: (what the operator's phone
    was called from, the caller ID shown to the caller), and the request page's words."""
    request_by_call(phone_for(page), caller=caller, identify=identify)
    [request] = requests_in(page)
    olena = sign_in(page, "olena")
    olena.post(f"/operators/requests/{request.id}/claim")
    shown = olena.get(f"/operators/requests/{request.id}").get_data(as_text=True)
    olena.post(f"/operators/requests/{request.id}/call")
    [placed] = twilio.placed
    leg = twilio_params(CallSid=placed["Sid"], From=HOTLINE, To=OLENA_PHONE,
                        Direction="outbound-api")
    dialled = signed_post(page.test_client(),
                          path_of(placed["Url"]).replace("/answer?", "/accept?"),
                          {**leg, "Digits": "1"}).get_data(as_text=True)
    caller_id = re.search(r'callerId="([^"]+)"', dialled)
    assert placed["From"] == HOTLINE and caller_id is not None and caller in dialled
    return caller_id.group(1), shown


def test_caller_who_did_not_let_us_name_the_hotline_sees_their_countrys_neutral_number(
        pooled_page: Flask, twilio: FakeTwilio) -> None:
    caller_id, page_text = dialled_from(pooled_page, twilio, UKRAINIAN_CALLER, identify=False)

    assert caller_id == UK_NEUTRAL
    assert f"Their phone will show {UK_NEUTRAL}, a number that does not name the hotline" \
        in page_text


def test_caller_from_a_country_without_its_own_number_sees_the_default_neutral_one(
        pooled_page: Flask, twilio: FakeTwilio) -> None:
    caller_id, page_text = dialled_from(pooled_page, twilio, POLISH_CALLER, identify=False)

    assert caller_id == DEFAULT_NEUTRAL
    assert HOTLINE not in page_text.split('id="shown-number"')[1].split("</p>")[0]


def test_caller_who_let_us_say_who_we_are_sees_the_published_number_when_the_pool_allows_it(
        pooled_page: Flask, twilio: FakeTwilio) -> None:
    caller_id, page_text = dialled_from(pooled_page, twilio, POLISH_CALLER, identify=True)

    assert caller_id == HOTLINE
    shown = page_text.split('id="shown-number"')[1].split("</p>")[0]
    assert "published number" in shown and HOTLINE in shown and "did not agree" not in shown


def test_the_published_number_is_not_shown_where_the_pool_keeps_a_country_to_its_own(
        pooled_page: Flask, twilio: FakeTwilio) -> None:
    caller_id, _ = dialled_from(pooled_page, twilio, UKRAINIAN_CALLER, identify=True)

    assert caller_id == UK_NEUTRAL


def test_without_a_pool_the_page_warns_that_the_published_number_will_show(
        page: Flask, twilio: FakeTwilio) -> None:
    caller_id, page_text = dialled_from(page, twilio, UKRAINIAN_CALLER, identify=False)

    assert caller_id == HOTLINE
    assert "no other number is set for them (CALLBACK_CALLER_IDS)" in page_text


def test_caller_who_asks_us_to_wait_for_their_call_is_not_called_without_a_confirmation(
        page: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_by_call(phone, window="4")  # "we should not call: I will call again"
    [request] = requests_in(page)
    olena = sign_in(page, "olena")

    queue = olena.get("/operators/").get_data(as_text=True)
    olena.post(f"/operators/requests/{request.id}/claim")
    shown = olena.get(f"/operators/requests/{request.id}").get_data(as_text=True)
    refused = olena.post(f"/operators/requests/{request.id}/call", follow_redirects=True)

    assert request.safe_window == "wait"
    assert "Do not call: they will call us again" in queue
    assert 'id="wait-banner"' in shown and 'name="despite_wait"' in shown
    assert "Tick the box to call anyway" in refused.get_data(as_text=True)
    assert twilio.placed == [] and attempts(page) == []
    olena.post(f"/operators/requests/{request.id}/call", data={"despite_wait": "1"})
    [placed] = twilio.placed
    assert placed["To"] == OLENA_PHONE


def test_caller_who_calls_again_can_ask_us_to_wait_for_their_call_and_later_take_it_back(
        page: Flask, phone: Dial) -> None:
    request_by_call(phone, window="3")
    request_by_call(phone, window="4", message=None)
    [waiting] = requests_in(page)
    request_by_call(phone, window="1", message=None)
    [called] = requests_in(page)

    assert (waiting.safe_window, waiting.attempts) == ("wait", 2)
    assert (called.safe_window, called.attempts) == ("any", 3)


def test_the_page_shows_the_local_time_a_caller_told_us_and_warns_outside_their_window(
        page: Flask, phone: Dial, monkeypatch: pytest.MonkeyPatch) -> None:
    told_at = datetime(2026, 12, 1, 18, 40, tzinfo=UTC)  # 21:40 where the caller is
    monkeypatch.setattr("ivr.voice.callback_request.utcnow", lambda: told_at)
    # A Russian mobile: Kaliningrad to Kamchatka; daytime only; "it is 21 o'clock here".
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru", window="2", hour="21")
    [request] = requests_in(page)
    stop_clock(page, told_at + timedelta(minutes=5))
    olena = sign_in(page, "olena")
    olena.post(f"/operators/requests/{request.id}/claim")

    queue = olena.get("/operators/").get_data(as_text=True)
    shown = olena.get(f"/operators/requests/{request.id}").get_data(as_text=True)

    assert (request.caller_timezone, request.caller_utc_offset) == (None, 180)
    assert "Their time 21:45" in queue and "outside their safe time" in queue
    assert "It is 21:45 for them: outside the time they said is safe" in shown
    assert 'class="danger"' in shown
