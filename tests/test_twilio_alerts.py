"""Twilio tells us, through its Debugger webhook, the moment it fails to reach the app; the
supervisors see it on their page, and no caller's number is kept with it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape

from ivr.database import db
from ivr.twilio.alerts import Alert, keep, recent_alerts
from tests.page_support import add_people, sign_in, stop_clock, without_csrf
from tests.support import BASE_URL, CALL_SID, CALLER, signed_post

ALERT_SID = "NO" + "a" * 32


def alert(sid: str = ALERT_SID, code: str = "11200", level: str = "ERROR",
          timestamp: str = "2026-11-25T12:00:00Z",
          message: str = f"HTTP retrieval failure for a call from {CALLER}") -> dict[str, str]:
    payload = {
        "resource_sid": CALL_SID, "service_sid": None, "error_code": code,
        "more_info": {"Msg": message,
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


@pytest.fixture
def page(app: Flask) -> Flask:
    add_people(app, "sofia", "olena")
    return without_csrf(app)


def alerts_table(client: FlaskClient, path: str = "/operators/alerts") -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True).split("<tbody>")[1].split("</tbody>")[0]


def test_a_supervisor_sees_twilios_alerts_newest_first(page: Flask, client: FlaskClient) -> None:
    signed_post(client, "/twilio/debugger", alert())
    signed_post(client, "/twilio/debugger", alert(sid="NO" + "b" * 32, code="12100",
                                                  level="WARNING",
                                                  timestamp="2026-11-25T12:05:00Z"))
    with page.app_context():
        shown = recent_alerts(db.session(), limit=10)

    rows = alerts_table(sign_in(page, "sofia"))

    assert rows.index("12100") < rows.index("11200")
    # Shown on the desk's clock (Kyiv, two hours ahead of UTC in November).
    assert "2026-11-25 14:05:00" in rows and "2026-11-25 14:00:00" in rows
    assert "Warning" in rows and "Error" in rows
    assert CALL_SID in rows
    for kept in shown:
        assert kept.url and str(escape(kept.url)) in rows  # the & of its query, escaped
        assert kept.message and str(escape(kept.message)) in rows
    assert CALLER not in rows and CALLER[1:] not in rows


def test_markup_in_an_alert_is_shown_as_text(page: Flask, client: FlaskClient) -> None:
    signed_post(client, "/twilio/debugger", alert(
        message='<script>steal()</script><b onclick="x()">bold</b>'))

    rows = alerts_table(sign_in(page, "sofia"))

    assert "&lt;script&gt;steal()&lt;/script&gt;&lt;b onclick=" in rows
    assert "<script>" not in rows and "<b " not in rows


def test_an_operator_who_is_not_a_supervisor_cannot_see_the_alerts(
        page: Flask, client: FlaskClient) -> None:
    signed_post(client, "/twilio/debugger", alert())
    olena = sign_in(page, "olena")

    response = olena.get("/operators/alerts")

    assert response.status_code == 403
    assert "This page is for supervisors." in response.get_data(as_text=True)
    assert "11200" not in response.get_data(as_text=True)
    assert "/operators/alerts" not in olena.get("/operators/").get_data(as_text=True)
    assert "/operators/alerts" in sign_in(page, "sofia").get(
        "/operators/").get_data(as_text=True)


def test_someone_not_signed_in_is_sent_to_sign_in(page: Flask, client: FlaskClient) -> None:
    response = client.get("/operators/alerts")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/operators/login")


def test_fifty_alerts_a_page_and_the_older_ones_on_the_next(page: Flask) -> None:
    start = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    with page.app_context():
        for number in range(51):
            at = start + timedelta(minutes=number)
            keep(db.session(), Alert(sid=f"NO{number:032x}", level="ERROR",
                                     error_code=str(20000 + number), resource_sid=CALL_SID,
                                     url=None, message=None, at=at), at)
        db.session.commit()
    sofia = sign_in(page, "sofia")

    first = alerts_table(sofia)
    second = sofia.get("/operators/alerts?page=2").get_data(as_text=True)

    assert first.count("<tr id=\"alert-") == 50
    assert "20050" in first and "20000" not in first  # the oldest waits on page 2
    assert "Alerts kept: 51" in second and "page 2 of 2" in second
    assert alerts_table(sofia, "/operators/alerts?page=2").count("<tr id=\"alert-") == 1
    assert "20000" in alerts_table(sofia, "/operators/alerts?page=99")
    whole_first = sofia.get("/operators/alerts").get_data(as_text=True)
    assert 'href="/operators/alerts?page=2">Older' in whole_first and "Newer" not in whole_first
    assert 'href="/operators/alerts?page=1">← Newer' in second and "Older" not in second


def test_with_no_alerts_the_page_says_so(page: Flask) -> None:
    assert "No alerts from Twilio." in alerts_table(sign_in(page, "sofia"))


def test_the_figures_page_counts_the_last_days_alerts_and_links_to_them(
        page: Flask, client: FlaskClient) -> None:
    signed_post(client, "/twilio/debugger", alert(timestamp="2026-11-23T12:00:00Z"))
    signed_post(client, "/twilio/debugger", alert(sid="NO" + "b" * 32))
    stop_clock(page, datetime(2026, 11, 25, 18, 0, tzinfo=UTC))

    html = sign_in(page, "sofia").get("/operators/figures").get_data(as_text=True)

    assert "Twilio alerts in the last 24 hours: 1" in html
    assert 'href="/operators/alerts"' in html


def test_the_alerts_page_is_in_russian_too(page: Flask, client: FlaskClient) -> None:
    signed_post(client, "/twilio/debugger", alert())
    sofia = sign_in(page, "sofia")
    sofia.post("/operators/language", data={"page_language": "ru", "next": "/operators/"})

    html = sofia.get("/operators/alerts").get_data(as_text=True)

    assert "Оповещения Twilio" in html and "Код ошибки" in html and "Ошибка" in html
