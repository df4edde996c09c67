"""Twilio's voice webhooks are answered by a lean app of their own (ivr/voice/serving.py):
every path under /voice/ reaches it, and it keeps no session."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from ivr.voice import serving
from tests.support import signed_post


def test_every_voice_path_is_answered_by_the_webhooks_app(app: Flask) -> None:
    # A blueprint with /voice/ paths registered on the main app alone would answer 404 to
    # every one of Twilio's requests to it.
    ours = {blueprint.name for blueprint in serving.BLUEPRINTS}
    voice_rules = [rule for rule in app.url_map.iter_rules()
                   if rule.rule.startswith(serving.PREFIX)]

    assert len(voice_rules) > 20
    for rule in voice_rules:
        assert rule.endpoint.partition(".")[0] in ours, rule.rule


def test_a_webhook_sent_a_cookie_answers_as_usual_and_sets_none(client: FlaskClient) -> None:
    client.set_cookie("session", "eyJfZnJlc2giOmZhbHNlfQ.forged.cookie")

    response = signed_post(client, "/voice/incoming", {
        "CallSid": "CA" + "1" * 32, "From": "+79161234567", "To": "+15005550006",
        "CallStatus": "ringing", "Direction": "inbound"})

    assert response.status_code == 200
    assert b"<Gather" in response.data
    assert "Set-Cookie" not in response.headers
    # The operators' page's headers are the page's own.
    assert "Content-Security-Policy" not in response.headers

