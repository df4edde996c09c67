"""What an operator writes about a caller is as private as their number: sealed at rest under
PHONE_ENCRYPTION_KEYS, opened only on the request's page, carried through a key rotation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask

from ivr import create_app
from ivr.cli import make_cli
from ivr.database import db
from ivr.models import AuditEntry, CallbackRequest
from ivr.operators import audit
from tests.conftest import close
from tests.page_support import add_people, sign_in, without_csrf
from tests.rows import add_request
from tests.support import hotline_of, settings_for

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NOTE = "She is at her sister's on Lesi Ukrainky 5; call after 19, ask for Marta"


@pytest.fixture
def restart(tmp_path: Path) -> Iterator[Callable[[str, str], Flask]]:
    """The service (re)started on a database file with PHONE_ENCRYPTION_KEYS set so."""
    apps: list[Flask] = []

    def start(url: str, keys: str) -> Flask:
        app = create_app(settings_for(url, PHONE_ENCRYPTION_KEYS=keys,
                                      SPOOL_DIR=str(tmp_path / f"spool-{len(apps)}")))
        apps.append(without_csrf(app))
        return app

    yield start
    for app in apps:
        close(app)


def write_note(app: Flask, text: str = NOTE) -> int:
    """Olena claims a request and writes what she learnt on the page."""
    request_id = add_request(app, NOW)
    olena = sign_in(app, "olena")
    olena.post(f"/operators/requests/{request_id}/claim")
    response = olena.post(f"/operators/requests/{request_id}/notes", data={"notes": text})
    assert response.status_code == 302
    return request_id


def request_page(app: Flask, request_id: int, login: str = "olena") -> str:
    response = sign_in(app, login).get(f"/operators/requests/{request_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def stored_notes(app: Flask) -> list[str | None]:
    with app.app_context():
        return list(db.session.scalars(sa.select(CallbackRequest.notes)))


def test_a_note_is_not_in_the_database_in_plain_text(make_app: Callable[..., Flask]) -> None:
    app = without_csrf(make_app())
    add_people(app)

    request_id = write_note(app)

    [token] = stored_notes(app)
    assert token is not None and "sister" not in token
    database = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    for path in database.parent.glob(database.name + "*"):  # the WAL file too
        assert b"sister" not in path.read_bytes()
    assert NOTE.replace("'", "&#39;") in request_page(app, request_id)


def test_another_operator_reads_the_note_once_it_is_closed(
        make_app: Callable[..., Flask]) -> None:
    app = without_csrf(make_app())
    add_people(app)
    request_id = write_note(app)
    sign_in(app, "olena").post(f"/operators/requests/{request_id}/outcome",
                               data={"outcome": "reached"})

    html = request_page(app, request_id, login="sofia")

    assert '<p class="notes">' + NOTE.replace("'", "&#39;") in html


def test_a_note_survives_a_key_rotation(
        tmp_path: Path, template_database: Path, restart: Callable[[str, str], Flask]) -> None:
    url = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    (tmp_path / "ivr.sqlite3").write_bytes(template_database.read_bytes())
    before = restart(url, OLD_KEY)
    add_people(before)
    request_id = write_note(before)

    rotated = restart(url, f"{NEW_KEY},{OLD_KEY}").test_cli_runner().invoke(
        make_cli(), ["keys", "rotate"])

    assert rotated.exit_code == 0, rotated.output
    assert "callback_requests.notes: 1 re-encrypted" in rotated.output
    after = restart(url, NEW_KEY)
    assert NOTE.replace("'", "&#39;") in request_page(after, request_id)


def test_a_note_under_a_key_we_no_longer_have_is_a_readable_warning(
        make_app: Callable[..., Flask]) -> None:
    app = without_csrf(make_app())
    add_people(app)
    request_id = write_note(app)
    with app.app_context():
        request = db.session.get(CallbackRequest, request_id)
        assert request is not None
        request.notes = Fernet(Fernet.generate_key()).encrypt(b"lost").decode()
        db.session.commit()

    html = request_page(app, request_id)

    assert "These notes cannot be read with the keys this service has" in html
    assert "lost" not in html


def test_the_migration_seals_the_notes_there_were_and_chains_the_audit_log(
        app: Flask) -> None:
    add_people(app, "olena")
    request_id = add_request(app, NOW)
    with app.app_context():
        # to the schema before this change (named: later migrations stack on top of it)
        flask_migrate.downgrade(revision="c1a7f0e2b301")
        db.session.execute(sa.text("UPDATE callback_requests SET notes = :notes"),
                           {"notes": NOTE})
        db.session.execute(sa.text(
            "INSERT INTO audit_log (at, login, action) VALUES ('2026-11-24 10:00:00.000000', "
            "'olena', 'login'), ('2026-11-24 10:05:00.000000', 'olena', 'claim')"))
        db.session.commit()

        flask_migrate.upgrade()

        [token] = db.session.scalars(sa.select(CallbackRequest.notes)).all()
        assert token is not None and "sister" not in token
        assert hotline_of(app).vault.unseal(token) == NOTE
        assert audit.verify(db.session()).checked == 2
        assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 2
    assert NOTE.replace("'", "&#39;") in request_page(without_csrf(app), request_id)
