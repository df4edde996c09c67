"""Twilio tells us, through its Debugger webhook, the moment it fails to reach the app; the
supervisors see it, and no caller's number is kept with it."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr.database import db
from ivr.twilio.alerts import recent_alerts
from tests.support import BASE_URL, CALL_SID, CALLER, signed_post

ALERT_SID = "NO" + "a" * 32


def alert(sid: str = ALERT_SID, code: str = "11200", level: str = "ERROR",
          timestamp: str = "2026-11-25T12:00:00Z") -> dict[str, str]:
    payload = {
        "resource_sid": CALL_SID, "service_sid": None, "error_code": code,
        "more_info": {"Msg": f"HTTP retrieval failure for a call from {CALLER}",
                      "ErrorCode": code, "LogLevel": level,
                      "url": f"{BASE_URL}/voice/menu/input?node=main&lang=ru"},
        "webhook": {"type": "application/x-www-form-urlencoded", "request": {
            "url": f"{BASE_URL}/voice/menu/input?node=main&lang=ru", "method": "POST",
            "parameters": {"From": CALLER, "Digits": "1"}}},
    }
    return {"Sid": sid, "AccountSid": "AC" + "0" * 32, "Timestamp": timestamp,
            "Level": level, "PayloadType": "application/json", "Payload": json.dumps(payload)}


def test_an_alert_is_kept_for_the_supervisors(app: Flask, client: FlaskClient) -> None:
    response = signed_post(client, "/twilio/debugger", alert())

    assert response.status_code == 204
    with app.app_context():
        [kept] = recent_alerts(db.session(), limit=10)
    assert (kept.sid, kept.level, kept.error_code, kept.resource_sid) == (
        ALERT_SID, "ERROR", "11200", CALL_SID)
    assert kept.url == f"{BASE_URL}/voice/menu/input?node=main&lang=ru"
    assert kept.at == datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def test_no_phone_number_is_kept_or_logged(app: Flask, client: FlaskClient,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    signed_post(client, "/twilio/debugger", alert())

    with app.app_context():
        [kept] = recent_alerts(db.session(), limit=10)
    stored = " ".join(str(value) for value in vars(kept).values())
    assert CALLER not in stored and CALLER[1:] not in stored
    assert kept.message is not None and kept.message.endswith("•67")
    logged = capsys.readouterr().err
    assert "twilio alert" in logged and "11200" in logged
    assert CALLER not in logged and CALLER[1:] not in logged


def test_the_newest_alerts_come_first(app: Flask, client: FlaskClient) -> None:
    for number, code in enumerate(("11200", "12100", "11205")):
        signed_post(client, "/twilio/debugger", alert(
            sid=f"NO{number:032x}", code=code, timestamp=f"2026-11-25T12:0{number}:00Z"))

    with app.app_context():
        codes = [kept.error_code for kept in recent_alerts(db.session(), limit=2)]
    assert codes == ["11205", "12100"]


def test_a_redelivered_alert_is_kept_once(app: Flask, client: FlaskClient) -> None:
    signed_post(client, "/twilio/debugger", alert())
    signed_post(client, "/twilio/debugger", alert())

    with app.app_context():
        assert len(recent_alerts(db.session(), limit=10)) == 1


def test_a_forged_alert_is_refused(app: Flask, client: FlaskClient) -> None:
    response = client.post("/twilio/debugger", data=alert())

    assert response.status_code == 403
    with app.app_context():
        assert recent_alerts(db.session(), limit=10) == []


def test_an_alert_with_a_payload_that_is_not_json_is_still_kept(
        app: Flask, client: FlaskClient) -> None:
    response = signed_post(client, "/twilio/debugger", {**alert(), "Payload": "{not json",
                                                         "Level": "WARNING"})

    assert response.status_code == 204
    with app.app_context():
        [kept] = recent_alerts(db.session(), limit=10)
    assert (kept.level, kept.error_code, kept.url) == ("WARNING", None, None)
