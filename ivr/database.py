"""The database: Flask-SQLAlchemy and migrations for the app, engine settings per backend
(SQLite for a fresh clone, PostgreSQL in production), and the one way to open a unit of work
outside a request's session."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from ivr.models import Base

# Bound to the app in create_app. The operators' page and the CLI work in `db.session`,
# Flask-SQLAlchemy's session of the request or command.
db = SQLAlchemy(model_class=Base)
migrate = Migrate()
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """A transaction of its own, committed when the block ends and rolled back if it raises.

    Webhooks, background threads and Twilio's status callbacks write through this, never
    through `db.session`: they must not depend on a request's session, and what they write
    must be committed before they answer. Core statements run on `session.connection()`.
    """
    with Session(engine) as session, session.begin():
        yield session


def migrations_applied(engine: Engine) -> tuple[str, ...]:
    """The revisions the database is at: none before `ivr db upgrade`."""
    with unit_of_work(engine) as session:
        return tuple(MigrationContext.configure(session.connection()).get_current_heads())


def engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        # Several gunicorn workers share one file: wait for the write lock instead of failing.
        return {"connect_args": {"timeout": 10}}
    return {
        "pool_pre_ping": True,
        "pool_size": 5,
        "max_overflow": 5,
        # Twilio gives a webhook 15 s in all; a database that does not answer must not use them up.
        "connect_args": {"connect_timeout": 3},
        "pool_timeout": 3,
    }


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while one writer commits; FULL makes each commit durable.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # 16 MB of pages (SQLite's default is 2 MB): the call log's indexes take an insert at
    # a random place for every webhook, and each page missing from the cache is a read.
    cursor.execute("PRAGMA cache_size=-16000")
    cursor.close()


def upsert(connection: Connection,
           table: sa.Table | sa.FromClause) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT, on either backend (both support the same form)."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    return insert(table)  # type: ignore[arg-type]
