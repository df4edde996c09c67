"""The same migrations build the schema on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from ivr import create_app
from ivr.database import db
from ivr.models import Base
from tests.conftest import close
from tests.support import settings_for

TABLES = {"alembic_version", "calls", "call_events", "operators", "operator_rings", "surges",
          "callback_attempts", "audit_log", "sign_in_counts", "twilio_alerts",
          "callback_requests", "callback_calls", "callback_drafts", "recordings",
          "recording_copies", "periodic_jobs", "blocked_numbers", "flag_dismissals",
          "callback_notes", "chat_conversations", "chat_messages", "telegram_chats"}


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres_url")
    app = create_app(settings_for(url, SPOOL_DIR=str(tmp_path / "spool")))
    yield app
    close(app)


def tables(app: Flask) -> set[str]:
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names())


def differences(app: Flask, metadata: sa.MetaData = Base.metadata) -> list[object]:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_migrations_go_up_and_down_and_up_again(empty_app: Flask) -> None:
    with empty_app.app_context():
        flask_migrate.upgrade()
        assert tables(empty_app) == TABLES
        flask_migrate.downgrade(revision="base")
        assert tables(empty_app) == {"alembic_version"}
        flask_migrate.upgrade()
    assert tables(empty_app) == TABLES


def test_models_and_migrations_agree(empty_app: Flask) -> None:
    with empty_app.app_context():
        flask_migrate.upgrade()

    assert tables(empty_app) == TABLES
    assert differences(empty_app) == []


def test_a_model_change_without_a_migration_is_caught(
        make_app: Callable[..., Flask]) -> None:
    changed = sa.MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["calls"].append_column(sa.Column("note", sa.String(20)))

    assert differences(make_app(), changed) != []
