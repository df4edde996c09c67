"""The number a caller is told names one open request: six random digits meet now and then,
and then the request gets another number, while a number a caller already heard still finds
their request."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from flask import Flask

from ivr import create_app
from ivr.callback_requests import store
from ivr.callback_requests.store import find_by_reference
from ivr.database import db
from ivr.models import CallbackRequest, RequestCall
from ivr.twilio.phone_simulator import Phone
from tests.conftest import close
from tests.support import hotline_of, settings_for
from tests.test_callback_requests import (
    break_table,
    mend_table,
    stored_requests,
    to_callback_request,
)
from tests.test_callback_requests import told as heard_saved

Dial = Callable[..., Phone]
AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_two_callers_who_draw_the_same_number_are_told_different_ones(
        app: Flask, phone: Dial, monkeypatch: pytest.MonkeyPatch) -> None:
    # Luck: both draw 424242; the next draw is 515151.
    monkeypatch.setattr("ivr.callback_requests.taking.new_reference", lambda: "424242")
    monkeypatch.setattr(store, "new_reference", lambda: "515151")
    told = []
    for caller in ("+380501234567", "+380671112233"):
        call, _ = to_callback_request(phone, caller=caller)
        told.append(heard_saved(call.press("1")))

    assert told == ["424242", "515151"]
    assert sorted(request.reference for request in stored_requests(app)) == told
    with app.app_context():
        for reference in told:
            found = find_by_reference(db.session.connection(), reference)
            assert found is not None and found.reference == reference


def test_a_number_told_from_the_spool_that_another_request_took_still_finds_its_caller(
        app: Flask, phone: Dial, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ivr.callback_requests.taking.new_reference", lambda: "424242")
    first, _ = to_callback_request(phone, caller="+380501234567")
    first.press("1")
    second, _ = to_callback_request(phone, caller="+380671112233")
    break_table(app)
    told = heard_saved(second.press("1"))
    mend_table(app)
    monkeypatch.setattr(store, "new_reference", lambda: "515151")

    hotline_of(app).callback_requests.replay()

    assert told == "424242"  # heard while the database was away: it could not know
    requests = stored_requests(app)
    assert sorted(request.reference for request in requests) == ["424242", "515151"]
    with app.app_context():
        heard = db.session.scalar(sa.select(RequestCall.reference).where(
            RequestCall.call_sid == second.call_sid))
    assert heard == "424242"  # kept with the call: the caller quoting it is found by it


def test_the_database_refuses_a_second_open_request_with_the_same_number(app: Flask) -> None:
    with app.app_context():
        for index, caller in enumerate(("+380501234567", "+380671112233")):
            db.session.add(CallbackRequest(
                reference="424242", number="x", number_hash=caller, number_source="caller_id",
                language="uk", reason="chosen", priority=3, status="open",
                first_call_sid=f"CA{index:032x}", last_call_sid=f"CA{index:032x}",
                created_at=AT, updated_at=AT))
        with pytest.raises(sa.exc.IntegrityError, match="reference"):
            db.session.flush()


@pytest.fixture
def app_before_the_change(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(settings_for(f"sqlite:///{tmp_path / 'old.sqlite3'}",
                                  SPOOL_DIR=str(tmp_path / "spool")))
    with app.app_context():
        flask_migrate.upgrade(revision="f5e55101e009")
    yield app
    close(app)


def test_the_migration_gives_open_requests_that_share_a_number_their_own(
        app_before_the_change: Flask) -> None:
    app = app_before_the_change
    with app.app_context():
        connection = db.session.connection()
        for index, (status, number_hash) in enumerate(
                (("open", "a"), ("open", "b"), ("reached", "c"), ("open", "d"))):
            sid = f"CA{index:032x}"
            connection.execute(sa.text(
                "INSERT INTO callback_requests (id, reference, number, number_hash, "
                "number_source, number_confirmed, language, reason, priority, status, "
                "may_identify, first_call_sid, last_call_sid, attempts, created_at, updated_at, "
                "callback_attempts) VALUES (:id, '424242', 'x', :hash, 'caller_id', 1, 'uk', "
                "'chosen', 3, :status, 0, :sid, :sid, 1, :at, :at, 0)"),
                {"id": index + 1, "hash": number_hash, "status": status, "sid": sid,
                 "at": AT.isoformat()})
            connection.execute(sa.text(
                "INSERT INTO callback_calls (call_sid, request_id, at, reference) "
                "VALUES (:sid, :id, :at, NULL)"), {"sid": sid, "id": index + 1,
                                                   "at": AT.isoformat()})
        db.session.commit()

        flask_migrate.upgrade()

        rows = db.session.execute(sa.text(
            "SELECT id, reference, status FROM callback_requests ORDER BY id")).all()
        told: dict[int, str] = dict(db.session.execute(sa.text(
            "SELECT request_id, reference FROM callback_calls")).all())
    open_numbers = [reference for _id, reference, status in rows if status == "open"]
    assert len(set(open_numbers)) == 3  # each open request has a number of its own
    assert rows[0].reference == "424242"  # the first keeps its number
    assert rows[2].reference == "424242"  # a closed one is left alone
    assert told[2] == told[4] == "424242"  # what their callers heard still finds them
