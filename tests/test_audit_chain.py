"""The audit log is tamper-evident: every entry is chained to the one before it, so a
supervisor (and `ivr audit verify`) finds the first entry someone at the database edited,
removed or slipped in."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.engine import Engine

from ivr.cli import make_cli
from ivr.database import db, unit_of_work
from ivr.models import AuditEntry
from ivr.operators import audit
from ivr.twilio.phone_simulator import Phone
from tests.page_support import add_people, request_by_call, requests_in, sign_in, without_csrf
from tests.support import hotline_of

Dial = Callable[..., Phone]


@pytest.fixture
def page(app: Flask, phone: Dial) -> Flask:
    """Sofia has signed in, Olena claimed a request and revealed its number: six entries."""
    add_people(app)
    without_csrf(app)
    request_by_call(phone)
    [request] = requests_in(app)
    sign_in(app, "sofia")
    olena = sign_in(app, "olena")
    olena.post(f"/operators/requests/{request.id}/claim")
    olena.post(f"/operators/requests/{request.id}/reveal")
    olena.post(f"/operators/requests/{request.id}/release")
    olena.post("/operators/logout")
    return app


def verify(app: Flask) -> tuple[int, str, str]:
    result = app.test_cli_runner().invoke(make_cli(), ["audit", "verify"])
    return result.exit_code, result.stdout, result.stderr


def audit_page(app: Flask) -> str:
    return sign_in(app, "sofia").get("/operators/audit").get_data(as_text=True)


def entry_ids(app: Flask) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditEntry.id).order_by(AuditEntry.id)))


def tamper(app: Flask, statement: sa.Executable) -> None:
    """Someone with access to the database, not through the service."""
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


def test_a_supervisor_sees_the_chain_intact(page: Flask) -> None:
    count = len(entry_ids(page))

    code, output, _ = verify(page)

    assert count == 6
    assert code == 0
    assert output.startswith(f"Chain intact: {count} entries checked\nlast hash: ")
    # (the page's own sign-in is one entry more)
    assert f"Chain intact: {count + 1} entries checked." in audit_page(page)


def test_an_edited_entry_is_found(page: Flask) -> None:
    reveal = entry_ids(page)[3]
    tamper(page, sa.update(AuditEntry).where(AuditEntry.id == reveal).values(login="ivan"))

    code, output, error = verify(page)

    assert code == 1
    assert "3 entries match before it" in output
    assert error.startswith(f"ivr: Chain broken at entry #{reveal} (")
    assert error.count("\n") == 1
    assert f"Chain broken at entry #{reveal} (" in audit_page(page)


def test_an_edited_time_is_found_too(page: Flask) -> None:
    reveal = entry_ids(page)[3]
    tamper(page, sa.update(AuditEntry).where(AuditEntry.id == reveal)
           .values(at=datetime(2026, 1, 1, tzinfo=UTC)))

    assert verify(page)[0] == 1
    # On the desk's clock (Kyiv, two hours ahead in winter); the CLI says UTC.
    assert f"Chain broken at entry #{reveal} (2026-01-01 02:00:00)" in audit_page(page)


def test_a_deleted_entry_is_found_at_the_one_after_it(page: Flask) -> None:
    ids = entry_ids(page)
    tamper(page, sa.delete(AuditEntry).where(AuditEntry.id == ids[3]))

    code, _, error = verify(page)

    assert code == 1
    assert error.startswith(f"ivr: Chain broken at entry #{ids[4]} (")
    assert f"Chain broken at entry #{ids[4]} (" in audit_page(page)


def test_an_entry_slipped_in_is_found(page: Flask) -> None:
    ids = entry_ids(page)
    with page.app_context():
        genuine = db.session.get(AuditEntry, ids[-1])
        assert genuine is not None
        forged_hash = genuine.hash  # all a forger without the chain's rule can do
    tamper(page, sa.insert(AuditEntry).values(
        id=ids[-1] + 1, at=datetime.now(UTC), login="ivan", action="reveal", hash=forged_hash))

    code, _, error = verify(page)

    assert code == 1
    assert error.startswith(f"ivr: Chain broken at entry #{ids[-1] + 1} (")
    assert f"Chain broken at entry #{ids[-1] + 1} (" in audit_page(page)


def test_entries_written_after_a_break_do_not_hide_it(page: Flask) -> None:
    first = entry_ids(page)[0]
    tamper(page, sa.update(AuditEntry).where(AuditEntry.id == first).values(action="claim"))
    sign_in(page, "ivan")

    assert f"Chain broken at entry #{first} (" in audit_page(page)


def test_the_page_checks_only_the_latest_entries_and_says_so(
        page: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "PAGE_CHECKS", 3)
    first = entry_ids(page)[0]
    tamper(page, sa.update(AuditEntry).where(AuditEntry.id == first).values(action="claim"))

    html = audit_page(page)

    assert "Chain intact over the latest 3 of 7 entries (ivr audit verify checks them all)." \
        in html
    assert verify(page)[0] == 1  # the command checks from the first entry


def test_on_an_empty_log_the_chain_is_intact(app: Flask) -> None:
    assert verify(app)[:2] == (0, "Chain intact: 0 entries checked\nlast hash: " + "0" * 64 +
                               " (kept elsewhere, it proves later that the entries up to here "
                               "were not rewritten)\n")


def append_at_once(engine: Engine, writers: int = 8, each: int = 10) -> None:
    """Several gunicorn workers and the CLI write entries at the same moment."""
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write(number: int) -> None:
        start.wait()
        try:
            for _ in range(each):
                with unit_of_work(engine) as session:
                    audit.record(session, datetime.now(UTC), "login", login=f"worker{number}")
        except BaseException as error:  # reported by the test below
            failures.append(error)

    threads = [threading.Thread(target=write, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_writers_at_the_same_moment_keep_one_chain_on_sqlite(app: Flask) -> None:
    append_at_once(hotline_of(app).engine)

    code, output, _ = verify(app)

    assert code == 0, output
    assert output.startswith("Chain intact: 80 entries checked")


def test_writers_at_the_same_moment_keep_one_chain_on_postgresql(postgres_app: Flask) -> None:
    append_at_once(hotline_of(postgres_app).engine)

    code, output, _ = verify(postgres_app)

    assert code == 0, output
    assert output.startswith("Chain intact: 80 entries checked")
