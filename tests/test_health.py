"""A load balancer asks whether the service is alive and ready; it learns nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr import create_app
from tests.conftest import close
from tests.support import AUTH_TOKEN, settings_for


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


def test_a_migrated_service_with_its_prompts_is_ready(client: FlaskClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {
        "database": "ok", "migrations": "ok", "prompts": "ok"}}


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
                                       "prompts": "ok"}


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
