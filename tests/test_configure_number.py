"""An engineer wires the hotline's Twilio number to the app with one command."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner

from tests.fake_twilio import HOTLINE, FakeTwilio, number

PUBLIC = "https://ivr.example.org"


def configure(runner: FlaskCliRunner, *args: str) -> Result:
    return runner.invoke(args=["twilio", "configure-number", *args])


@pytest.fixture
def public_runner(make_app: Callable[..., Flask]) -> FlaskCliRunner:
    """The command of an app that knows the public URL Twilio must call."""
    return make_app(PUBLIC_BASE_URL=PUBLIC).test_cli_runner()


def test_the_number_is_pointed_at_the_app_and_the_changes_are_printed(
        public_runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    result = configure(public_runner, HOTLINE)

    assert result.exit_code == 0, result.output
    assert twilio.looked_up == [HOTLINE]
    assert twilio.number_updates == [{
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
        public_runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    twilio.numbers = [number(voice_url=f"{PUBLIC}/voice/incoming", voice_method="GET",
                             voice_fallback_url=f"{PUBLIC}/voice/fallback",
                             status_callback=f"{PUBLIC}/voice/status")]

    result = configure(public_runner, HOTLINE)

    assert result.exit_code == 0, result.output
    assert twilio.number_updates == [{"VoiceMethod": "POST"}]


def test_a_number_already_wired_is_left_alone(
        public_runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    twilio.numbers = [number(voice_url=f"{PUBLIC}/voice/incoming",
                             voice_fallback_url=f"{PUBLIC}/voice/fallback",
                             status_callback=f"{PUBLIC}/voice/status")]

    result = configure(public_runner, HOTLINE)

    assert result.exit_code == 0
    assert twilio.looked_up == [HOTLINE]
    assert twilio.number_updates == []
    assert "nothing changed" in result.output


def test_a_number_not_in_the_account_is_refused_in_one_line(
        public_runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    result = configure(public_runner, "+15005550009")

    assert result.exit_code == 1
    assert twilio.looked_up == ["+15005550009"]
    assert result.output == "ivr: +15005550009 is not one of this Twilio account's numbers\n"


def test_without_a_public_base_url_nothing_is_asked_of_twilio(
        runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    result = configure(runner, HOTLINE)

    assert result.exit_code == 1
    assert result.output.startswith("ivr: PUBLIC_BASE_URL is not set")
    assert len(twilio.requests) == 0


def test_when_twilio_refuses_the_engineer_is_told_why(
        public_runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    twilio.refuse_number_update(status=400, code=21402, message="VoiceUrl is not valid")

    result = configure(public_runner, HOTLINE)

    assert result.exit_code == 1
    assert result.output == "ivr: updating the number failed: HTTP 400, Twilio error 21402\n"


def test_a_number_that_is_not_e164_is_refused(public_runner: FlaskCliRunner,
                                               twilio: FakeTwilio) -> None:
    result = configure(public_runner, "5005550006")

    assert result.exit_code == 1
    assert "is not an E.164 number" in result.output
