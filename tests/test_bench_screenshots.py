"""`make screenshots` (bench/screenshots.py) is kept out of `make test`, which only checks
that it imports and that its demo desk has what the pictures show."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask

from bench import screenshots
from ivr.database import db
from ivr.models import CallbackRequest, Operator


def test_the_screenshots_script_imports_and_names_its_pages() -> None:
    assert [name for name, _ in screenshots.PAGES] == ["queue", "request", "figures", "board"]
    assert sorted(screenshots.WIDTHS) == [390, 1280]


def test_its_demo_desk_has_requests_in_each_language_and_sofia_reads_ukrainian(
        app: Flask) -> None:
    held = screenshots.seed(app, datetime(2026, 12, 1, 10, 0, tzinfo=UTC))

    with app.app_context():
        requests = list(db.session.scalars(sa.select(CallbackRequest)))
        sofia = db.session.scalars(sa.select(Operator).where(Operator.login == "sofia")).one()
        shown = db.session.get_one(CallbackRequest, held)
    assert {row.language for row in requests} == {"uk", "ru", "en"}
    assert sofia.page_language == "uk" and shown.claimed_by == sofia.id
