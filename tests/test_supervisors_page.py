"""Supervisors read the figures, switch duty and surges, export the requests without numbers,
look after the team's accounts and read the audit log."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask

from ivr.database import db
from ivr.models import Call, CallbackRequest, Ring
from ivr.operators import availability, figures
from ivr.twilio.phone_simulator import Phone
from tests.page_support import (
    PASSWORD,
    RUSSIAN_CALLER,
    UKRAINIAN_CALLER,
    audit_trail,
    people,
    request_by_call,
    requests_in,
    sign_in,
)
from tests.rows import add_request

Dial = Callable[..., Phone]
WEB = Path(__file__).resolve().parent.parent / "ivr" / "operators" / "web"


def test_supervisor_sees_todays_figures_per_language(page: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=UKRAINIAN_CALLER, language="uk")
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    [ukrainian, _] = requests_in(page)
    sofia = sign_in(page, "sofia")
    sofia.post(f"/operators/requests/{ukrainian.id}/claim")
    sofia.post(f"/operators/requests/{ukrainian.id}/outcome", data={"outcome": "reached"})

    html = sofia.get("/operators/figures").get_data(as_text=True)

    assert "Today" in html and "UTC" not in html and "Last 7 days" in html and "<svg" in html
    with page.app_context():
        moment = requests_in(page)[0].closed_at
        assert moment is not None
        today = figures.figures(db.session(), ("ru", "uk", "en"),
                                figures.start_of_day(moment, "Europe/Kyiv"),
                                moment + timedelta(minutes=1))
    assert (today["uk"].calls, today["uk"].requests, today["uk"].called_back) == (1, 1, 1)
    assert today["uk"].median_minutes == 0
    assert (today["ru"].requests, today["ru"].called_back, today["ru"].median_minutes) == (
        1, 0, None)


def test_the_chart_is_drawn_by_the_server_with_one_bar_pair_a_day() -> None:
    days = [figures.Day(date(2026, 11, 19 + index), index, index // 2) for index in range(7)]

    chart = figures.chart(days)

    assert len(chart.bars) == 14 and chart.top == 6
    assert max(bar.height for bar in chart.bars) == chart.plot


def test_supervisor_puts_an_operator_on_duty_and_takes_them_off(page: Flask) -> None:
    sofia = sign_in(page, "sofia")

    sofia.post("/operators/duty/olena", data={"on": "1"})
    assert people(page)["olena"].on_duty is True
    sofia.post("/operators/duty/olena", data={"on": "0"})

    assert people(page)["olena"].on_duty is False
    assert ("sofia", "duty", None) in audit_trail(page)


def test_supervisor_turns_a_languages_surge_on(page: Flask) -> None:
    sofia = sign_in(page, "sofia")

    sofia.post("/operators/surge/uk", data={"on": "1"})

    with page.app_context():
        assert availability.surge_on(db.session(), "uk") is True
        assert availability.surge_on(db.session(), "ru") is False
    assert "Surge on" in sofia.get("/operators/figures").get_data(as_text=True)


def test_a_surge_for_an_unknown_language_is_not_found(page: Flask) -> None:
    sofia = sign_in(page, "sofia")

    unknown = sofia.post("/operators/surge/xx", data={"on": "1"})
    known = sofia.post("/operators/surge/uk", data={"on": "1"})

    assert unknown.status_code == 404
    assert (known.status_code, known.headers["Location"]) == (302, "/operators/figures")


def test_the_csv_export_has_no_numbers_and_is_audited(page: Flask, phone: Dial) -> None:
    request_by_call(phone)

    response = sign_in(page, "sofia").get("/operators/export.csv")

    text = response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 1 and rows[0]["language"] == "uk" and rows[0]["has_message"] == "True"
    assert "4567" not in text and "number" not in rows[0]
    assert ("sofia", "export", None) in audit_trail(page)


def test_an_operator_cannot_export(page: Flask) -> None:
    assert sign_in(page, "olena").get("/operators/export.csv").status_code == 403


def test_supervisor_adds_an_operator_who_can_then_sign_in(page: Flask) -> None:
    sofia = sign_in(page, "sofia")

    response = sofia.post("/operators/team", data={
        "login": "taras", "name": "Taras B", "phone": "+380 67 111 22 33",
        "languages": ["uk", "ru"], "role": "operator", "password": PASSWORD})

    assert response.status_code == 302
    assert people(page)["taras"].language_codes == ("uk", "ru")
    sign_in(page, "taras")


def test_bad_account_details_get_the_reason_on_the_page(page: Flask) -> None:
    response = sign_in(page, "sofia").post("/operators/team", data={
        "login": "olena", "name": "Someone", "phone": "+380671112233",
        "languages": ["uk"], "role": "operator", "password": PASSWORD})

    assert response.status_code == 400
    assert "login &#39;olena&#39; is taken" in response.get_data(as_text=True)


def test_a_disabled_operator_is_signed_out_and_can_be_enabled_again(page: Flask) -> None:
    olena = sign_in(page, "olena")
    sofia = sign_in(page, "sofia")

    sofia.post("/operators/team/olena/active", data={"on": "0"})
    assert olena.get("/operators/").status_code == 302
    sofia.post("/operators/team/olena/active", data={"on": "1"})

    sign_in(page, "olena")
    assert people(page)["olena"].active is True


def test_a_password_reset_signs_the_person_out_everywhere(page: Flask) -> None:
    olena = sign_in(page, "olena")

    sign_in(page, "sofia").post("/operators/team/olena/password",
                                data={"password": "a brand new long password"})

    assert olena.get("/operators/").status_code == 302
    sign_in(page, "olena", "a brand new long password")


def test_a_too_short_password_is_refused_with_the_reason(page: Flask) -> None:
    response = sign_in(page, "sofia").post("/operators/team/olena/password",
                                           data={"password": "short"}, follow_redirects=True)

    assert "password: at least 12 characters" in response.get_data(as_text=True)


def test_the_audit_log_lists_what_happened_and_cannot_be_changed(page: Flask,
                                                                  phone: Dial) -> None:
    request_by_call(phone)
    [request] = requests_in(page)
    sofia = sign_in(page, "sofia")
    sofia.post(f"/operators/requests/{request.id}/claim")
    sofia.post(f"/operators/requests/{request.id}/reveal")

    html = sofia.get("/operators/audit").get_data(as_text=True)
    reveals = sofia.get("/operators/audit?action=reveal").get_data(as_text=True)

    assert "revealed the number" in html and "claimed" in html and "signed in" in html
    assert "signed in" not in reveals.split("<tbody>")[1]
    refused = sofia.post("/operators/audit")
    assert refused.status_code == 405
    assert "That did not work" in refused.get_data(as_text=True)


@pytest.mark.parametrize("language", ["ru", "uk"])
def test_every_text_on_the_page_has_its_russian_and_ukrainian_translation(language: str) -> None:
    messages = {(message[4], message[2] if isinstance(message[2], str) else message[2][0])
                for message in extract_from_dir(
                    str(WEB), method_map=[("**.py", "python"),
                                          ("**/templates/**.html", "jinja2")],
                    keywords={"_": None, "_l": None, "gettext": None,
                              "ngettext": (1, 2), "lazy_gettext": None,
                              "pgettext": ((1, "c"), 2)})}
    po_path = WEB / "translations" / language / "LC_MESSAGES" / "messages.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file)
    with po_path.with_suffix(".mo").open("rb") as mo_file:
        compiled = read_mo(mo_file)

    translated = {(message.context, message.id if isinstance(message.id, str) else message.id[0])
                  for message in catalog
                  if message.id and message.string
                  and all(message.string if isinstance(message.string, tuple) else (1,))}
    assert messages - {(None, "")} <= translated
    def ids(messages: object) -> set[str]:
        return {str(tuple(message.id) if isinstance(message.id, list | tuple) else message.id)
                for message in messages}  # type: ignore[attr-defined]

    assert ids(compiled) == ids(catalog)  # the .mo is compiled from this .po


def test_the_figures_count_calls_answered_and_abandoned_per_language(page: Flask) -> None:
    now = datetime.now(UTC)
    with page.app_context():
        olena = people(page)["olena"]
        for index, (language, answered) in enumerate(
                [("uk", True), ("uk", False), ("ru", False)]):
            sid = f"CA{index:032x}"
            db.session.add(Call(call_sid=sid, direction="inbound", language=language,
                                status="completed", started_at=now - timedelta(minutes=5)))
            if answered:
                db.session.add(Ring(operator_id=olena.id, language=language, status="ended",
                                    outcome="accepted", created_at=now))
        db.session.commit()
    # The abandoned call is a request in the queue, as the queue shows it.
    hung_up = add_request(page, now - timedelta(minutes=4), call_sid=f"CA{1:032x}")
    with page.app_context():
        db.session.get_one(CallbackRequest, hung_up).reason = "queue_hangup"
        db.session.commit()
        counted = figures.figures(db.session(), ("ru", "uk"), now - timedelta(hours=1),
                                now + timedelta(seconds=1))

    assert (counted["uk"].calls, counted["uk"].answered, counted["uk"].abandoned) == (2, 1, 1)
    assert (counted["ru"].calls, counted["ru"].answered, counted["ru"].abandoned) == (1, 0, 0)


def test_twilios_paths_keep_their_plain_errors(page: Flask) -> None:
    response = page.test_client().post("/voice/no-such-webhook")

    assert response.status_code == 404
    assert "<h1>Not Found</h1>" in response.get_data(as_text=True)  # Werkzeug's own page
    assert "Hotline operators" not in response.get_data(as_text=True)
