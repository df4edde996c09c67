"""The people at the desk read times on their own clock (DESK_TIMEZONE), never bare UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ivr.operators import desk_time
from ivr.settings import ConfigError, load_settings


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
