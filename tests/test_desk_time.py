"""The people at the desk read times on their own clock (DESK_TIMEZONE), never bare UTC."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from ivr.database import db
from ivr.models import Call
from ivr.operators import desk_time, figures
from ivr.settings import ConfigError, load_settings
from ivr.twilio.phone_simulator import Phone
from tests.page_support import (
    add_people,
    request_by_call,
    requests_in,
    sign_in,
    stop_clock,
    without_csrf,
)


def test_a_kyiv_desk_reads_a_winter_night_call_two_hours_ahead_of_utc() -> None:
    at = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)
    assert desk_time.shown(at, "Europe/Kyiv") == "2026-12-02 00:30"


def test_the_desks_today_begins_at_its_own_midnight() -> None:
    now = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)
    start = desk_time.day_start(now, "Europe/Kyiv")
    assert start.astimezone(UTC) == datetime(2026, 12, 1, 22, 0, tzinfo=UTC)


def test_a_day_with_a_clock_change_ends_at_the_next_midnight() -> None:
    now = datetime(2026, 10, 25, 12, 0, tzinfo=UTC)  # Kyiv leaves summer time this day
    start, end = desk_time.day_start(now, "Europe/Kyiv"), desk_time.day_end(now, "Europe/Kyiv")
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 25 * 3600


def test_the_desk_time_zone_defaults_to_kyiv(tmp_path: Path) -> None:
    assert load_settings({}, tmp_path).desk_timezone == "Europe/Kyiv"


def test_a_misspelt_desk_time_zone_stops_start_up_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DESK_TIMEZONE='Europe/Kiev2'"):
        load_settings({"DESK_TIMEZONE": "Europe/Kiev2"}, tmp_path)


# The page, at a desk in Kyiv on a winter night: 23:30 UTC is 01:30 of the next day there.
WINTER_NIGHT = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)


@pytest.fixture
def night_desk(app: Flask) -> Flask:
    add_people(app)
    stop_clock(app, WINTER_NIGHT)
    return without_csrf(app)


def inbound_call(app: Flask, sid: str, at: datetime, language: str = "uk") -> None:
    with app.app_context():
        db.session.add(Call(call_sid=sid, direction="inbound", language=language,
                            status="completed", started_at=at))
        db.session.commit()


def test_a_call_at_half_past_eleven_utc_on_a_winter_evening_counts_in_the_next_kyiv_day(
        night_desk: Flask) -> None:
    inbound_call(night_desk, "CA" + "1" * 32, WINTER_NIGHT)  # 01:30 on 2 December in Kyiv
    inbound_call(night_desk, "CA" + "2" * 32, WINTER_NIGHT - timedelta(hours=2))  # 23:30 on 1st

    with night_desk.app_context():
        kyiv = figures.page(db.session(), ("uk",), WINTER_NIGHT + timedelta(minutes=5),
                            "Europe/Kyiv")
        in_utc = figures.page(db.session(), ("uk",), WINTER_NIGHT + timedelta(minutes=5), "UTC")

    assert kyiv.today["uk"].calls == 1  # only the call after Kyiv's midnight
    assert in_utc.today["uk"].calls == 2  # in London both were on the 1st
    assert kyiv.days[-1].day == date(2026, 12, 2) and kyiv.week["uk"].calls == 2


def test_the_chart_gives_each_of_the_desks_last_seven_days_its_own_midnight_to_midnight(
        night_desk: Flask) -> None:
    with night_desk.app_context():
        days = figures.by_day(db.session(), ("uk",), WINTER_NIGHT, "Europe/Kyiv")

    assert [day.day for day in days] == [date(2026, 11, 26) + timedelta(days=n)
                                         for n in range(7)]
    assert figures.days_back(WINTER_NIGHT, "Europe/Kyiv", 0)[0].astimezone(UTC) == \
        datetime(2026, 12, 1, 22, 0, tzinfo=UTC)


def test_the_request_page_shows_0130_for_an_attempt_made_at_2330_utc(
        night_desk: Flask, phone: Callable[..., Phone]) -> None:
    request_by_call(phone)
    [request] = requests_in(night_desk)
    olena, sofia = sign_in(night_desk, "olena"), sign_in(night_desk, "sofia")
    olena.post(f"/operators/requests/{request.id}/claim")

    held = sofia.get(f"/operators/requests/{request.id}").get_data(as_text=True)
    olena.post(f"/operators/requests/{request.id}/outcome", data={"outcome": "no_answer"})
    history = sofia.get(f"/operators/requests/{request.id}").get_data(as_text=True)
    audit = sofia.get("/operators/audit").get_data(as_text=True)

    assert "claimed by Olena K until 02:00" in held  # CLAIM_MINUTES=30 after 01:30 Kyiv
    assert "2026-12-02 01:30" in history and "23:30" not in history
    assert "2026-12-02 01:30:00" in audit


def test_no_page_says_utc(night_desk: Flask, phone: Callable[..., Phone]) -> None:
    request_by_call(phone)
    [request] = requests_in(night_desk)
    sofia = sign_in(night_desk, "sofia")
    sofia.post(f"/operators/requests/{request.id}/claim")
    sofia.post(f"/operators/requests/{request.id}/outcome", data={"outcome": "no_answer"})

    for language in ("en", "ru", "uk"):
        sofia.post("/operators/language", data={"page_language": language, "next": "/operators/"})
        for path in ("/operators/", f"/operators/requests/{request.id}", "/operators/figures",
                     "/operators/team", "/operators/audit", "/operators/alerts",
                     "/operators/callers", "/operators/password"):
            page = sofia.get(path)
            assert page.status_code == 200, path
            assert "UTC" not in page.get_data(as_text=True), (language, path)


def test_the_csv_export_gives_times_on_the_desks_clock_with_their_offset(
        night_desk: Flask, phone: Callable[..., Phone]) -> None:
    request_by_call(phone)
    [request] = requests_in(night_desk)
    sofia = sign_in(night_desk, "sofia")

    rows = list(csv.DictReader(io.StringIO(sofia.get("/operators/export.csv")
                                           .get_data(as_text=True))))

    kyiv = request.created_at.astimezone(desk_time.zone("Europe/Kyiv"))
    assert rows[0]["created_at"] == kyiv.isoformat() and kyiv.isoformat().endswith("+02:00")
