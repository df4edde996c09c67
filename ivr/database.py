"""Engine settings per backend: SQLite for a fresh clone, PostgreSQL in production."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine


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
    cursor.close()


def upsert(connection: Connection,
           table: sa.Table | sa.FromClause) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT, on either backend (both support the same form)."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    return insert(table)  # type: ignore[arg-type]
