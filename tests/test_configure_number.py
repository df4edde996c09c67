"""An engineer wires the hotline's Twilio number to the app with one command."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs

import pytest
import responses
from click.testing import Result
from flask import Flask

ACCOUNT = "AC" + "0" * 32
NUMBERS_API = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/IncomingPhoneNumbers"
NUMBER_SID = "PN" + "a" * 32
HOTLINE = "+15005550006"
PUBLIC = "https://ivr.example.org"


def number(**fields: str | None) -> dict[str, object]:
    return {"sid": NUMBER_SID, "account_sid": ACCOUNT, "phone_number": HOTLINE,
            "voice_url": "https://demo.twilio.com/welcome/voice/", "voice_method": "POST",
            "voice_fallback_url": None, "voice_fallback_method": "POST",
            "status_callback": None, "status_callback_method": "POST", **fields}


def page(*numbers: dict[str, object]) -> dict[str, object]:
    return {"incoming_phone_numbers": list(numbers), "meta": {
        "page": 0, "page_size": 1, "first_page_url": "", "previous_page_url": None,
        "next_page_url": None, "url": "", "key": "incoming_phone_numbers"}}


@pytest.fixture
def twilio_rest() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def updates_sent(mock: responses.RequestsMock) -> list[dict[str, str]]:
    return [{name: values[0] for name, values in parse_qs(str(call.request.body)).items()}
            for call in mock.calls if call.request.method == "POST"]


def configure(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=["twilio", "configure-number", *args])


@pytest.fixture
def public_app(make_app: Callable[..., Flask]) -> Flask:
    return make_app(PUBLIC_BASE_URL=PUBLIC)


def test_the_number_is_pointed_at_the_app_and_the_changes_are_printed(
        public_app: Flask, twilio_rest: responses.RequestsMock) -> None:
    twilio_rest.get(re.compile(re.escape(NUMBERS_API) + r"\.json\?.*PhoneNumber=%2B15005550006"),
                    json=page(number()))
    twilio_rest.post(f"{NUMBERS_API}/{NUMBER_SID}.json", json=number(
        voice_url=f"{PUBLIC}/voice/incoming", voice_fallback_url=f"{PUBLIC}/voice/fallback",
        status_callback=f"{PUBLIC}/voice/status"))

    result = configure(public_app, HOTLINE)

    assert result.exit_code == 0, result.output
    assert updates_sent(twilio_rest) == [{
        "VoiceUrl": f"{PUBLIC}/voice/incoming",
        "VoiceFallbackUrl": f"{PUBLIC}/voice/fallback",
        "StatusCallback": f"{PUBLIC}/voice/status",
    }]
    assert result.output.splitlines() == [
        f"voice_url: https://demo.twilio.com/welcome/voice/ → {PUBLIC}/voice/incoming",
        f"voice_fallback_url: (not set) → {PUBLIC}/voice/fallback",
        f"status_callback: (not set) → {PUBLIC}/voice/status",
        f"{HOTLINE}: 3 setting(s) changed",
    ]


def test_the_methods_are_set_to_post_when_they_were_not(
        public_app: Flask, twilio_rest: responses.RequestsMock) -> None:
    wired = number(voice_url=f"{PUBLIC}/voice/incoming", voice_method="GET",
                   voice_fallback_url=f"{PUBLIC}/voice/fallback",
                   status_callback=f"{PUBLIC}/voice/status")
    twilio_rest.get(re.compile(re.escape(NUMBERS_API) + r"\.json.*"), json=page(wired))
    twilio_rest.post(f"{NUMBERS_API}/{NUMBER_SID}.json", json={**wired, "voice_method": "POST"})

    result = configure(public_app, HOTLINE)

    assert result.exit_code == 0, result.output
    assert updates_sent(twilio_rest) == [{"VoiceMethod": "POST"}]


def test_a_number_already_wired_is_left_alone(
        public_app: Flask, twilio_rest: responses.RequestsMock) -> None:
    twilio_rest.get(re.compile(re.escape(NUMBERS_API) + r"\.json.*"), json=page(number(
        voice_url=f"{PUBLIC}/voice/incoming", voice_fallback_url=f"{PUBLIC}/voice/fallback",
        status_callback=f"{PUBLIC}/voice/status")))

    result = configure(public_app, HOTLINE)

    assert result.exit_code == 0
    assert updates_sent(twilio_rest) == []
    assert "nothing changed" in result.output


def test_a_number_not_in_the_account_is_refused_in_one_line(
        public_app: Flask, twilio_rest: responses.RequestsMock) -> None:
    twilio_rest.get(re.compile(re.escape(NUMBERS_API) + r"\.json.*"), json=page())

    result = configure(public_app, "+15005550009")

    assert result.exit_code == 1
    assert result.output == "ivr: +15005550009 is not one of this Twilio account's numbers\n"


def test_without_a_public_base_url_nothing_is_asked_of_twilio(
        app: Flask, twilio_rest: responses.RequestsMock) -> None:
    result = configure(app, HOTLINE)

    assert result.exit_code == 1
    assert result.output.startswith("ivr: PUBLIC_BASE_URL is not set")
    assert len(twilio_rest.calls) == 0


def test_when_twilio_refuses_the_engineer_is_told_why(
        public_app: Flask, twilio_rest: responses.RequestsMock) -> None:
    twilio_rest.get(re.compile(re.escape(NUMBERS_API) + r"\.json.*"), json=page(number()))
    twilio_rest.post(f"{NUMBERS_API}/{NUMBER_SID}.json", status=400, body=json.dumps(
        {"code": 21402, "message": "VoiceUrl is not valid", "status": 400}))

    result = configure(public_app, HOTLINE)

    assert result.exit_code == 1
    assert result.output == "ivr: updating the number failed: HTTP 400, Twilio error 21402\n"


def test_a_number_that_is_not_e164_is_refused(public_app: Flask,
                                               twilio_rest: responses.RequestsMock) -> None:
    result = configure(public_app, "5005550006")

    assert result.exit_code == 1
    assert "is not an E.164 number" in result.output
