"""The database: Flask-SQLAlchemy and migrations for the app, engine settings per backend
(SQLite for a fresh clone, PostgreSQL in production), and the one way to open a unit of work
outside a request's session."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic.migration import MigrationContext
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry

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


def transaction(engine: Engine) -> AbstractContextManager[Connection]:
    """As unit_of_work, for Core statements only: a connection in a transaction of its own,
    without an ORM session around it (the callback requests' and the call log's writers run
    one for every webhook that writes, and a session costs more than their statements)."""
    return engine.begin()


def one_read(engine: Engine) -> AbstractContextManager[Connection]:
    """A connection outside any transaction, for a single read that needs none: on the
    webhooks, a BEGIN and a COMMIT would be two round trips more than the read itself."""
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def page_asked(raw: str | None) -> int:
    """The page a URL's `page` asks for: a whole number of up to six digits, else the first."""
    raw = raw or ""
    return max(int(raw), 1) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


def page_within(page: int, total: int, page_size: int) -> tuple[int, int]:
    """The page to show of `total` rows, `page_size` a page, and how many pages there are: a
    page before the first shows the first, one past the last shows the last."""
    pages = max(1, -(-total // page_size))
    return min(max(page, 1), pages), pages


def migrations_applied(engine: Engine) -> tuple[str, ...]:
    """The revisions the database is at: none before `ivr db upgrade`."""
    with unit_of_work(engine) as session:
        return tuple(MigrationContext.configure(session.connection()).get_current_heads())


def engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        # Several gunicorn workers share one file: wait for the write lock instead of failing.
        return {"connect_args": {"timeout": 10}}
    return {
        # Not pool_pre_ping: a round trip before every statement of every webhook. A
        # connection idle for a while is pinged instead (see _ping_if_idle).
        "pool_size": 5,
        "max_overflow": 5,
        # Twilio gives a webhook 15 s in all; a database that does not answer must not use them up.
        "connect_args": {"connect_timeout": 3},
        "pool_timeout": 3,
    }


# A connection used this recently is taken as alive; one idle longer is pinged first (a
# database restarted or a connection cut by a proxy is found then, not mid-webhook).
PING_AFTER_IDLE_SECONDS = 1.0


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        sa.event.listen(engine.pool, "checkin", _note_idle)
        sa.event.listen(engine.pool, "checkout", _ping_if_idle)


def _note_idle(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    idle_since = record.info.get("idle_since")
    if idle_since is not None and time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        # (psycopg opened a transaction for it: end it, as the pool hands connections out)
        dbapi_connection.rollback()
    except Exception as error:
        # The pool drops this connection and takes (or opens) another, as pool_pre_ping does.
        raise sa.exc.DisconnectionError(str(error)) from error


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


Built = TypeVar("Built")


def built_per_dialect(build: Callable[[Connection], Built]) -> Callable[[Connection], Built]:
    """`build(connection)`, made once for each kind of database and kept: the statements the
    webhooks' writers run cost more to build (their ON CONFLICT clauses above all) than to run."""
    built: dict[str, Built] = {}

    def for_connection(connection: Connection) -> Built:
        dialect = connection.dialect.name
        if dialect not in built:
            built[dialect] = build(connection)
        return built[dialect]

    return for_connection


def upsert(connection: Connection,
           table: sa.Table | sa.FromClause) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that can say ON CONFLICT, on either backend (both support the same form)."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    return insert(table)  # type: ignore[arg-type]
