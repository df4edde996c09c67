"""A load balancer asks whether the service is alive and ready; it learns nothing else."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr import create_app
from ivr.operations.periodic import Runner
from tests.conftest import close
from tests.support import AUTH_TOKEN, hotline_of, settings_for


@pytest.fixture
def unmigrated_app(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(settings_for(f"sqlite:///{tmp_path / 'empty.sqlite3'}",
                                  SPOOL_DIR=str(tmp_path / "spool")))
    yield app
    close(app)


@pytest.fixture
def app_without_database(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(settings_for(f"sqlite:///{tmp_path / 'missing' / 'ivr.sqlite3'}",
                                  SPOOL_DIR=str(tmp_path / "spool")))
    yield app
    close(app)


def test_it_says_it_is_alive(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_a_migrated_service_with_its_prompts_is_ready(app: Flask, client: FlaskClient) -> None:
    Runner(hotline_of(app)).tick()  # its periodic work has run (tests/test_periodic.py)

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {
        "database": "ok", "migrations": "ok", "database_file": "ok", "spool": "ok",
        "prompts": "ok"}}


def test_a_database_without_the_migrations_is_not_ready(unmigrated_app: Flask) -> None:
    response = unmigrated_app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json is not None
    assert response.json["checks"]["migrations"] == "not applied (run: ivr db upgrade)"


def test_a_database_a_migration_behind_is_not_ready(unmigrated_app: Flask) -> None:
    with unmigrated_app.app_context():
        flask_migrate.upgrade(revision="efc801df1ed9")

    response = unmigrated_app.test_client().get("/readyz")

    assert response.status_code == 503
    assert response.json is not None
    assert response.json["checks"] == {"database": "ok",
                                       "migrations": "not at head (run: ivr db upgrade)",
                                       "database_file": "ok", "spool": "ok", "prompts": "ok"}


def test_an_unreachable_database_is_not_ready_and_its_address_is_not_told(
        app_without_database: Flask) -> None:
    client = app_without_database.test_client()

    ready = client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json is not None
    assert ready.json["checks"]["database"] == "unreachable"
    assert "missing" not in ready.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200


def test_neither_answer_carries_a_secret(client: FlaskClient) -> None:
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert (response.status_code, response.mimetype) == (200, "application/json")
        body = response.get_data(as_text=True)
        assert AUTH_TOKEN not in body
        assert "sqlite" not in body


def database_file(app: Flask) -> Path:
    return Path(str(hotline_of(app).engine.url.database))


def test_a_sqlite_file_deleted_while_serving_is_noticed(client: FlaskClient, app: Flask) -> None:
    assert client.get("/readyz").status_code == 200
    database_file(app).unlink()  # the connections write on into a file nobody will read

    ready = client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json is not None
    assert ready.json["checks"]["database_file"] == (
        "the database file is gone (restart after restoring it)")


def test_a_sqlite_file_replaced_while_serving_is_noticed(client: FlaskClient, app: Flask) -> None:
    assert client.get("/readyz").status_code == 200
    path = database_file(app)
    replacement = path.with_name("restored.sqlite3")
    shutil.copy(path, replacement)
    replacement.replace(path)  # a restore from a backup, say, under the running service

    ready = client.get("/readyz")

    assert ready.status_code == 503
    assert ready.json is not None
    assert ready.json["checks"]["database_file"] == (
        "the database file was replaced (restart to use the new one)")
