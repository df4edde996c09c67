"""Whatever goes wrong on our side, a caller hears a prompt in their language, never
Twilio's "application error"."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from ivr.callback_requests import questions
from ivr.database import db
from ivr.menu import journey
from ivr.models import CallbackRequest
from ivr.twilio.phone_simulator import Phone
from ivr.voice import answering
from tests.support import CALL_SID, hotline_of, signature, signed_post, twilio_params
from tests.test_callback_requests import digits_heard

VOICE_WEBHOOKS = ["/voice/incoming", "/voice/menu?node=main&lang=uk",
                  "/voice/menu/input?node=main&lang=uk&try=1", "/voice/fallback"]


def twiml(response: TestResponse) -> ET.Element:
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/xml")
    document = ET.fromstring(response.data)
    assert document.tag == "Response"
    return document


def played(document: ET.Element) -> list[str]:
    return [element.text or "" for element in document.iter() if element.tag in ("Play", "Say")]


def boom(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("simulated bug")


@pytest.mark.parametrize("path", VOICE_WEBHOOKS)
def test_an_exception_in_a_webhook_becomes_an_apology_in_the_callers_language(
        client: FlaskClient, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    for decision in ("start", "enter", "answer", "recover"):
        monkeypatch.setattr(journey, decision, boom)

    document = twiml(signed_post(client, path, twilio_params(
        Digits="1", ErrorUrl="https://ivr.example.org/voice/menu?node=main&lang=uk")))

    heard = played(document)
    language_known = "lang=uk" in path or path == "/voice/fallback"
    assert heard[0].startswith("/prompts/uk/sorry_error.wav" if language_known
                               else "/prompts/ru/sorry_error.wav")
    assert document[-1].tag == "Redirect"


def test_an_exception_in_the_status_callback_is_logged_and_answered(
        app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(hotline_of(app).call_log, "record", boom)

    response = signed_post(client, "/voice/status", twilio_params(CallStatus="completed"))

    assert response.status_code == 200
    assert twiml(response).tag == "Response"
    logged = capsys.readouterr().err
    assert "webhook failed" in logged and CALL_SID in logged


def test_an_exception_is_logged_with_the_call_sid(
        client: FlaskClient, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(journey, "answer", boom)

    signed_post(client, "/voice/menu/input?node=main&lang=en&try=1", twilio_params(Digits="1"))

    logged = capsys.readouterr().err
    assert "webhook failed" in logged
    assert CALL_SID in logged
    assert "simulated bug" in logged


def test_a_caller_hit_by_a_bug_is_taken_back_to_the_menu(
        phone: Callable[..., Phone], monkeypatch: pytest.MonkeyPatch) -> None:
    caller = phone()
    caller.dial()
    caller.press("3")
    real_answer = journey.answer
    monkeypatch.setattr(journey, "answer", boom)

    heard = caller.press("1")

    assert [(item.lang, item.prompt) for item in heard][:2] == [("en", "sorry_error"),
                                                                ("en", "main_intro")]
    monkeypatch.setattr(journey, "answer", real_answer)
    assert ("en", "about") in [(item.lang, item.prompt) for item in caller.press("3")]


def test_a_bug_that_keeps_happening_ends_the_call_politely(
        phone: Callable[..., Phone], monkeypatch: pytest.MonkeyPatch) -> None:
    caller = phone()
    caller.dial()
    caller.press("2")
    monkeypatch.setattr(journey, "enter", boom)
    monkeypatch.setattr(journey, "answer", boom)

    heard = caller.press("1")

    assert [item.prompt for item in heard] == ["sorry_error", "sorry_error", "technical_trouble"]
    assert caller.hung_up


def test_when_even_the_apology_fails_the_caller_still_hears_words(
        app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hotline_of(app).renderer, "render", boom)

    document = twiml(signed_post(client, "/voice/incoming", twilio_params()))

    assert [element.tag for element in document] == ["Say", "Say", "Say", "Hangup"]


def test_fallback_url_apologises_and_tries_the_failed_step_again(client: FlaskClient) -> None:
    params = twilio_params(ErrorCode="11200",
                           ErrorUrl="https://ivr.example.org/voice/menu/input?node=main&lang=ru")

    document = twiml(signed_post(client, "/voice/fallback", params))

    assert played(document)[0].startswith("/prompts/ru/technical_trouble.wav")
    redirect = document[-1]
    assert redirect.tag == "Redirect"
    assert redirect.text == "/voice/menu?node=main&lang=ru&err=2"


def test_fallback_url_ends_the_call_when_the_retry_failed_too(client: FlaskClient) -> None:
    params = twilio_params(ErrorCode="11200",
                           ErrorUrl="https://ivr.example.org/voice/menu?node=main&lang=ru&err=2")

    document = twiml(signed_post(client, "/voice/fallback", params))

    assert [element.tag for element in document] == ["Play", "Hangup"]


def test_fallback_url_before_a_language_is_chosen_speaks_every_language(
        client: FlaskClient) -> None:
    params = twilio_params(ErrorCode="11205", ErrorUrl="https://ivr.example.org/voice/incoming")

    document = twiml(signed_post(client, "/voice/fallback", params))

    assert [text.split("/")[2] for text in played(document)] == ["ru", "uk", "en"]


def test_fallback_url_answers_when_the_database_is_down(make_app: Callable[..., Flask]) -> None:
    app = make_app(DATABASE_URL="postgresql://ivr@127.0.0.1:9/nowhere")
    client = app.test_client()
    params = twilio_params(ErrorCode="11200", ErrorUrl="https://x.example/voice/incoming")

    document = twiml(signed_post(client, "/voice/fallback", params))

    assert "technical_trouble" in played(document)[0]


def test_the_menu_works_while_the_database_is_down(make_app: Callable[..., Flask]) -> None:
    app = make_app(DATABASE_URL="postgresql://ivr@127.0.0.1:9/nowhere")
    client = app.test_client()

    incoming = twiml(signed_post(client, "/voice/incoming", twilio_params()))
    choice = twiml(signed_post(client, "/voice/menu/input?node=language&try=1",
                               twilio_params(Digits="2")))

    assert "language_option" in played(incoming)[0]
    assert "/prompts/uk/main_intro.wav" in played(choice)[0]


@pytest.mark.parametrize(("path", "params"), [
    ("/voice/incoming", {}),
    ("/voice/incoming", {"CallSid": "not-a-sid", "From": "x" * 500}),
    ("/voice/menu/input?node=main&lang=en&try=1", twilio_params(Digits="1" * 500)),
    ("/voice/menu/input?node=main&lang=xx&try=1", twilio_params(Digits="1")),
    ("/voice/menu/input?node=nowhere&lang=en&try=abc", twilio_params(Digits="1")),
    ("/voice/menu/input?node=main&lang=en&try=99999999999999999999", twilio_params()),
    ("/voice/menu?node=main", twilio_params()),
    ("/voice/menu/input", twilio_params(Digits="\x00<Say>&")),
    ("/voice/fallback", twilio_params(ErrorUrl="http://[::1")),
    ("/voice/fallback", twilio_params(ErrorUrl="")),
])
def test_garbage_parameters_get_valid_twiml(client: FlaskClient, path: str,
                                            params: dict[str, str]) -> None:
    twiml(signed_post(client, path, params))


def test_too_many_digits_is_not_an_option(client: FlaskClient) -> None:
    document = twiml(signed_post(client, "/voice/menu/input?node=main&lang=en&try=1",
                                 twilio_params(Digits="1" * 500)))

    assert played(document)[0].startswith("/prompts/en/invalid_option.wav")


@pytest.mark.parametrize("signed_over", [{}, {"CallSid": "CA" + "1" * 32}])
def test_body_that_is_not_utf8_never_crashes(client: FlaskClient,
                                             signed_over: dict[str, str]) -> None:
    body = b"CallSid=CA" + b"1" * 32 + b"&From=%FF%FE%2B7916&Digits=\xff\xfe"

    response = client.post("/voice/incoming", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature("http://localhost/voice/incoming", signed_over)})

    assert response.status_code in (200, 400, 403)
    if response.status_code == 200:
        twiml(response)


def test_huge_body_is_refused_not_crashed(client: FlaskClient) -> None:
    params = twilio_params(Digits="1" * 200_000)

    response = signed_post(client, "/voice/incoming", params)

    assert 400 <= response.status_code < 500


def test_last_resort_is_valid_twiml() -> None:
    assert ET.fromstring(answering.LAST_RESORT).tag == "Response"


TWILIO_NAMES = ["CallSid", "From", "To", "Digits", "CallStatus", "Direction", "ErrorUrl",
                "ErrorCode", "SequenceNumber", "CallDuration", "Timestamp", "ParentCallSid"]
hostile_text = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["", "anonymous", "+79161234567", "+380 50 123 45 67", "1", "*", "#",
                     "<Say>hi</Say>", "'; DROP TABLE calls; --", "CA" + "f" * 32, "-1",
                     "completed", "ringing", "99999999999999999999", "Tue, 31 Feb 2026"]),
)
random_params = st.dictionaries(st.sampled_from(TWILIO_NAMES) | st.text(min_size=1, max_size=20),
                                hostile_text, max_size=12)
random_query = st.fixed_dictionaries({}, optional={
    "node": st.sampled_from(["main", "language", "about", "nope", ""]) | st.text(max_size=20),
    "lang": st.sampled_from(["ru", "uk", "en", "de"]) | st.text(max_size=5),
    "try": st.sampled_from(["1", "3", "0", "-5", "x"]) | st.text(max_size=5),
    "err": st.sampled_from(["0", "1", "2", "3", "9"]) | st.text(max_size=5),
})


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/voice/incoming", "/voice/menu", "/voice/menu/input",
                             "/voice/fallback", "/voice/status"]),
       query=random_query, params=random_params)
def test_random_signed_requests_never_crash_a_webhook(
        client: FlaskClient, path: str, query: dict[str, str], params: dict[str, str]) -> None:
    from urllib.parse import urlencode

    url = f"{path}?{urlencode(query)}" if query else path
    response = signed_post(client, url, params)

    assert response.status_code in (200, 204, 400, 403), response.data
    if response.status_code == 200:
        twiml(response)


@pytest.mark.parametrize("path", VOICE_WEBHOOKS)
def test_a_bug_reading_the_callers_place_still_gets_an_apology(
        client: FlaskClient, monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    monkeypatch.setattr(journey, "where_from", boom)

    document = twiml(signed_post(client, path, twilio_params(Digits="1")))

    assert [text.split("/")[2] for text in played(document)] == ["ru", "uk", "en"]
    assert document[-1].tag == "Redirect"


def test_a_bug_in_a_callback_request_question_asks_that_question_again(
        phone: Callable[..., Phone], monkeypatch: pytest.MonkeyPatch) -> None:
    call = phone(caller="+380501234567")
    call.dial()
    call.press("2")
    call.press("2")  # a callback request: "we will call you back on the number ending in 67"
    real_answer = questions.answer
    calls: list[object] = []

    def fails_once(*args: object) -> object:
        calls.append(args)
        if len(calls) == 1:
            raise RuntimeError("simulated bug")
        return real_answer(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(questions, "answer", fails_once)

    heard = call.press("1")

    # The key was lost with the error: the same question again, with the number still known.
    assert [item.prompt for item in heard] == [
        "sorry_error", "callback_confirm", "digit_6", "digit_7", "callback_confirm_keys"]
    saved = [item.prompt for item in call.press("1")]
    assert (saved[0], saved[-2:]) == ("callback_saved", ["callback_saved_more",
                                                         "callback_identify"])


def test_after_a_failure_an_optional_question_is_asked_again_not_answered_with_no(
        app: Flask, phone: Callable[..., Phone], monkeypatch: pytest.MonkeyPatch) -> None:
    call = phone(caller="+380501234567", fallback_path="/voice/fallback")
    call.dial()
    call.press("2")
    call.press("2")
    call.press("1")  # saved; "may we say who we are?"
    send = call.send

    def fails_once(method: str, url: str, params: dict[str, str],
                   headers: dict[str, str]) -> tuple[int, str, bytes]:
        call.send = send
        return 502, "text/html", b"Bad Gateway"  # Twilio then tries the fallback URL

    call.send = fails_once

    heard = call.press("1")

    # Twilio's fallback asks the same question again; it does not post it without Digits,
    # which would have recorded a silence: "no".
    assert [item.prompt for item in heard] == ["technical_trouble", "callback_identify"]
    assert [item.prompt for item in call.press("1")] == ["callback_window"]
    with app.app_context():
        [request] = db.session.scalars(sa.select(CallbackRequest)).all()
    assert request.may_identify is True


def test_twilios_fallback_for_a_failed_save_saves_the_request_once(
        app: Flask, phone: Callable[..., Phone]) -> None:
    call = phone(caller="+380501234567", fallback_path="/voice/fallback")
    failed_once: list[str] = []
    send = call.send

    def save_times_out_once(method: str, url: str, params: dict[str, str],
                            headers: dict[str, str]) -> tuple[int, str, bytes]:
        answer = send(method, url, params, headers)  # stored, but Twilio never hears back
        if "/voice/callback/input" in url and params.get("Digits") == "1" and not failed_once:
            failed_once.append(url)
            return 502, "text/html", b"Bad Gateway"
        return answer

    call.send = save_times_out_once
    call.dial()
    call.press("2")
    call.press("2")
    asked_again = call.press("1")  # the save: stored, and the answer lost on the way back

    assert call.fallbacks == 1
    assert [item.prompt for item in asked_again][:2] == ["technical_trouble", "callback_confirm"]
    heard = call.press("1")
    reference = digits_heard(heard, "callback_saved", "callback_saved_more")
    with app.app_context():
        stored = db.session.scalars(sa.select(CallbackRequest)).all()
    assert [request.reference for request in stored] == [reference]
