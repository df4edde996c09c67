"""An engineer closes a callback request from the command line: a trial call's, or one made by
mistake. `ivr callbacks close REFERENCE` finds it as a caller would quote it."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner

from ivr.database import db
from ivr.models import AuditEntry, CallbackRequest, RequestCall
from ivr.operators import accounts
from tests.support import hotline_of

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def a_request(app: Flask, reference: str, caller: str = "+380501234567",
              status: str = "open", call_sid: str = "CA" + "a" * 32) -> int:
    vault = hotline_of(app).vault
    with app.app_context():
        request = CallbackRequest(
            reference=reference, number=vault.encrypt(caller), number_hash=vault.digest(caller),
            number_source="caller_id", language="uk", reason="chosen", priority=3,
            status=status, outcome=None if status == "open" else status,
            first_call_sid=call_sid, last_call_sid=call_sid, created_at=AT, updated_at=AT)
        db.session.add(request)
        db.session.flush()
        db.session.add(RequestCall(call_sid=call_sid, request_id=request.id, at=AT,
                                   reference=reference))
        db.session.commit()
        return request.id


def close(runner: FlaskCliRunner, reference: str) -> Result:
    return runner.invoke(args=["callbacks", "close", reference])


def stored(app: Flask, request_id: int) -> CallbackRequest:
    with app.app_context():
        return db.session.get_one(CallbackRequest, request_id)


def audit(app: Flask) -> list[tuple[str, str, int | None, str | None]]:
    with app.app_context():
        return [(entry.login, entry.action, entry.request_id, entry.detail)
                for entry in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]


def test_an_engineer_closes_an_open_request_by_its_number(app: Flask, runner: FlaskCliRunner,
                                                          engineer: str) -> None:
    request_id = a_request(app, "483920")

    result = close(runner, "483920")

    assert result.exit_code == 0, result.output
    assert result.stdout == ("request 483920 closed (outcome closed, audited as cli:alice): "
                             "uk, chosen, made 2026-11-25 10:00 UTC\n")
    closed = stored(app, request_id)
    assert (closed.status, closed.outcome) == ("closed", "closed")
    assert closed.closed_at is not None
    assert audit(app) == [(engineer, "outcome", request_id, "closed")]


def test_the_number_a_caller_was_told_finds_their_request(app: Flask,
                                                          runner: FlaskCliRunner) -> None:
    request_id = a_request(app, "515151")
    with app.app_context():
        # Told from the spool while the database was away; the request got another number.
        db.session.add(RequestCall(call_sid="CA" + "b" * 32, request_id=request_id, at=AT,
                                   reference="424242"))
        db.session.commit()

    result = close(runner, "424 242")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("request 515151 (told as 424242) closed")
    assert stored(app, request_id).status == "closed"


def test_the_open_request_is_closed_rather_than_an_old_one_with_the_same_number(
        app: Flask, runner: FlaskCliRunner) -> None:
    old = a_request(app, "483920", caller="+380671112233", status="reached",
                    call_sid="CA" + "c" * 32)
    new = a_request(app, "483920")

    result = close(runner, "483920")

    assert result.exit_code == 0, result.output
    assert (stored(app, old).status, stored(app, new).status) == ("reached", "closed")


def test_a_claim_on_the_request_ends_with_it(app: Flask, runner: FlaskCliRunner) -> None:
    request_id = a_request(app, "483920")
    with app.app_context():
        olena = accounts.add_operator(
            db.session(), hotline_of(app).vault, login="olena", name="Olena",
            phone="+380501112233", languages=["uk"], known_languages=("ru", "uk", "en"),
            role="operator", password="a long enough password")
        db.session.flush()
        claimed = db.session.get_one(CallbackRequest, request_id)
        claimed.claimed_by, claimed.claimed_at = olena.id, hotline_of(app).clock.now()
        db.session.commit()

    result = close(runner, "483920")

    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("; the operator's claim on it ended")
    assert stored(app, request_id).claimed_by is None


def test_a_number_nobody_was_given_is_one_line(app: Flask, runner: FlaskCliRunner) -> None:
    a_request(app, "483920")

    result = close(runner, "999999")

    assert result.exit_code == 1
    assert result.stderr == "ivr: no callback request has the number 999999\n"


def test_what_is_not_a_number_is_one_line(runner: FlaskCliRunner) -> None:
    result = close(runner, "+380501234567")

    assert result.exit_code == 1
    assert result.stderr == ("ivr: '+380501234567' is not a request's number (six digits, "
                             "like 483920)\n")


def test_a_closed_request_is_not_closed_again(app: Flask, runner: FlaskCliRunner) -> None:
    a_request(app, "483920")
    a_request(app, "515151", caller="+380671112233", status="reached",
              call_sid="CA" + "d" * 32)

    assert close(runner, "483920").exit_code == 0
    again = close(runner, "483920")
    reached = close(runner, "515151")

    assert (again.exit_code, reached.exit_code) == (1, 1)
    assert again.stderr == "ivr: request 483920 is already closed (closed)\n"
    assert reached.stderr == "ivr: request 515151 is already closed (reached)\n"
    assert [action for _, action, _, _ in audit(app)] == ["outcome"]  # audited once
