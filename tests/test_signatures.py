"""Only Twilio may drive a call: every webhook checks X-Twilio-Signature."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support import AUTH_TOKEN, CALLER, signature, signed_post, stored_events, twilio_params

WEBHOOKS = ["/voice/incoming", "/voice/menu?node=main&lang=ru",
            "/voice/menu/input?node=main&lang=ru&try=1", "/voice/fallback", "/voice/status"]


@pytest.mark.parametrize("path", WEBHOOKS)
def test_unsigned_request_is_refused(client: FlaskClient, path: str) -> None:
    response = client.post(path, data=twilio_params())

    assert response.status_code == 403


@pytest.mark.parametrize("path", WEBHOOKS)
def test_forged_request_is_refused(client: FlaskClient, path: str) -> None:
    params = twilio_params()

    response = signed_post(client, path, params, token="not-our-auth-token")

    assert response.status_code == 403


def test_the_log_says_whether_a_refused_webhook_was_unsigned_or_signed_wrongly(
        client: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    client.post("/voice/incoming", data=twilio_params())
    signed_post(client, "/voice/incoming", twilio_params(), token="not-our-auth-token")

    refused = [json.loads(line) for line in capsys.readouterr().err.splitlines()
               if '"webhook refused"' in line]
    assert [line["reason"] for line in refused] == ["not signed", "signed wrongly"]
    assert CALLER not in json.dumps(refused)


@pytest.mark.parametrize("path", WEBHOOKS)
def test_signed_request_is_answered(client: FlaskClient, path: str) -> None:
    response = signed_post(client, path, twilio_params(CallStatus="completed"))

    assert response.status_code in (200, 204)


def test_request_with_a_changed_parameter_is_refused(client: FlaskClient) -> None:
    params = twilio_params(Digits="1")
    good = signature("http://localhost/voice/menu/input?node=main&lang=ru&try=1", params)

    response = client.post("/voice/menu/input?node=main&lang=ru&try=1",
                           data={**params, "Digits": "2"}, headers={"X-Twilio-Signature": good})

    assert response.status_code == 403


def test_request_with_a_changed_url_is_refused(client: FlaskClient) -> None:
    params = twilio_params(Digits="1")
    good = signature("http://localhost/voice/menu/input?node=main&lang=ru&try=1", params)

    response = client.post("/voice/menu/input?node=main&lang=en&try=1", data=params,
                           headers={"X-Twilio-Signature": good})

    assert response.status_code == 403


def test_refused_request_is_logged_without_the_callers_number(
        client: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    client.post("/voice/incoming", data=twilio_params(), headers={"X-Twilio-Signature": "x"})

    logged = capsys.readouterr().err
    assert "webhook refused" in logged
    assert "/voice/incoming" in logged
    assert CALLER not in logged and CALLER[1:] not in logged


def test_refused_request_stores_nothing(app: Flask, client: FlaskClient) -> None:
    response = client.post("/voice/incoming", data=twilio_params())

    assert response.status_code == 403
    assert stored_events(app) == []


def test_signature_is_checked_against_the_public_url_behind_a_proxy(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(PUBLIC_BASE_URL="https://ivr.example.org/hotline")
    client = app.test_client()
    params = twilio_params()

    as_twilio_sent = signed_post(client, "/voice/incoming", params,
                                 base="https://ivr.example.org/hotline")
    as_the_app_sees_it = signed_post(client, "/voice/incoming", params)

    assert as_twilio_sent.status_code == 200
    assert as_the_app_sees_it.status_code == 403
    # Twilio follows absolute URLs under the public base.
    assert b"https://ivr.example.org/hotline/voice/menu/input?" in as_twilio_sent.data


def test_signature_follows_forwarded_headers_when_proxies_are_trusted(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(TRUSTED_PROXY_HOPS="1")
    client = app.test_client()
    params = twilio_params()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ivr.example.org"}

    response = signed_post(client, "/voice/incoming", params, base="https://ivr.example.org",
                           headers=forwarded)

    assert response.status_code == 200


def test_forwarded_headers_are_ignored_unless_proxies_are_trusted(client: FlaskClient) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "ivr.example.org"}

    response = signed_post(client, "/voice/incoming", twilio_params(),
                           base="https://ivr.example.org", headers=forwarded)

    assert response.status_code == 403


def test_signature_with_the_default_port_is_accepted(client: FlaskClient) -> None:
    # Twilio signs http:// URLs with the port; RequestValidator accepts both forms.
    response = signed_post(client, "/voice/incoming", twilio_params(),
                           base="http://localhost:80")

    assert response.status_code == 200


def test_webhook_set_to_http_get_is_checked_too(client: FlaskClient) -> None:
    query = "CallSid=CA" + "1" * 32 + "&From=%2B79161234567&CallStatus=ringing"
    url = f"/voice/incoming?{query}"

    signed = client.get(url, headers={"X-Twilio-Signature": signature(f"http://localhost{url}",
                                                                      {})})
    unsigned = client.get(url)

    assert signed.status_code == 200
    assert signed.content_type.startswith("text/xml")
    assert unsigned.status_code == 403


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from(["Digits", "From", "CallSid", "b", "B", "", "é"]),
                                st.text(max_size=12)), max_size=10),
       url=st.sampled_from(["https://x.example/voice/incoming",
                            "https://x.example/voice/menu/input?node=main&lang=ru&try=1"]))
def test_our_signature_is_twilios_whatever_the_parameters(pairs: list[tuple[str, str]],
                                                          url: str) -> None:
    # Repeated names, repeated values, any order: the webhooks' own signature (computed for
    # every request) is the one Twilio's RequestValidator computes.
    from twilio.request_validator import RequestValidator
    from werkzeug.datastructures import MultiDict

    from ivr.twilio.webhook_request import _signature

    theirs = RequestValidator(AUTH_TOKEN).compute_signature(url, MultiDict(pairs))
    assert _signature(AUTH_TOKEN.encode(), url, MultiDict(pairs)).decode() == theirs
