"""`make bench`: the operators' queue page with 100,000 open callback requests in the
database, on SQLite and PostgreSQL: the median and 95th percentile of its server time.

The page is rendered through the Flask test client (no network, no browser), so the figure
is the server's own work: the queries, decrypting the page's numbers, the template.

    python -m bench.queue_page [--database sqlite|postgresql|both] [--requests 100000]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit

import flask_migrate
import psycopg
import sqlalchemy as sa
from flask import Flask

from ivr import create_app
from ivr.callback_requests.store import PRIORITY
from ivr.database import db
from ivr.models import CallbackRequest
from ivr.operators import accounts
from ivr.services import Hotline

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "bench password, long enough"  # noqa: S105 (a throwaway database)
TARGET_MS = 150
SAMPLES = 60
LANGUAGES = ("ru", "uk", "en")
WINDOWS = ("any", "day", "evening", None)
BATCH = 5_000


def settings(database_url: str, spool: Path) -> dict[str, str]:
    return {"IVR_ENV": "development", "DATABASE_URL": database_url, "LOG_LEVEL": "WARNING",
            "SPOOL_DIR": str(spool), "HOTLINE_NUMBER": "+15005550006"}


def fill(app: Flask, count: int) -> float:
    """Bulk insert `count` open requests (with distinct, really encrypted numbers)."""
    hotline: Hotline = app.extensions["ivr"]
    vault = hotline.vault
    started = time.perf_counter()
    now = datetime.now(UTC)
    rng = random.Random(5)
    reasons = tuple(PRIORITY)
    with app.app_context(), db.engine.begin() as connection:
        for first in range(0, count, BATCH):
            rows = []
            for index in range(first, min(first + BATCH, count)):
                number = f"+38050{index:07d}"
                reason = rng.choice(reasons)
                at = now - timedelta(minutes=rng.randrange(60 * 24 * 30))
                rows.append({
                    "reference": f"{100000 + index % 900000}", "number": vault.encrypt(number),
                    "number_hash": vault.digest(number), "number_source": "caller_id",
                    "number_confirmed": True, "language": rng.choice(LANGUAGES),
                    "reason": reason, "priority": PRIORITY[reason], "status": "open",
                    "may_identify": rng.random() < 0.5, "safe_window": rng.choice(WINDOWS),
                    "caller_timezone": "Europe/Kyiv", "first_call_sid": f"CA{index:032x}",
                    "last_call_sid": f"CA{index:032x}", "attempts": 1, "callback_attempts": 0,
                    "created_at": at, "updated_at": at})
            connection.execute(sa.insert(CallbackRequest), rows)
        connection.execute(sa.text("ANALYZE"))
    return time.perf_counter() - started


def add_people(app: Flask) -> None:
    with app.app_context():
        for login, languages, role in (("sofia", ("ru", "uk", "en"), "supervisor"),
                                       ("olena", ("uk", "ru"), "operator"),
                                       ("taras", ("en",), "operator")):
            accounts.add_operator(db.session(), app.extensions["ivr"].vault, login=login,
                                  name=login.title(), phone="+380501112233",
                                  languages=languages, known_languages=LANGUAGES, role=role,
                                  password=PASSWORD)
        db.session.commit()


def timings(app: Flask, login: str, path: str) -> list[float]:
    client = app.test_client()
    signed_in = client.post("/operators/login", data={"login": login, "password": PASSWORD})
    assert signed_in.status_code == 302, signed_in.status_code
    for _ in range(3):  # warm the caches and the connection pool
        client.get(path)
    times = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        assert b"Claim" in response.data
    return times


def measure(name: str, app: Flask, count: int) -> bool:
    with app.app_context():
        flask_migrate.upgrade()
    add_people(app)
    seconds = fill(app, count)
    app.config["WTF_CSRF_ENABLED"] = False
    print(f"{name}: {count:,} open requests inserted in {seconds:.1f} s")
    good = True
    for who, login, path in (("supervisor, every language", "sofia", "/operators/"),
                             ("operator, uk+ru", "olena", "/operators/"),
                             ("operator, en only", "taras", "/operators/"),
                             ("operator, uk+ru, page 200", "olena", "/operators/?page=200"),
                             ("supervisor, reason filter", "sofia",
                              "/operators/?reason=abandoned")):
        times = timings(app, login, path)
        median = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1]
        good = good and median < TARGET_MS
        print(f"  queue page, {who:<28} median {median:6.1f} ms   p95 {p95:6.1f} ms"
              f"   {'ok' if median < TARGET_MS else 'OVER ' + str(TARGET_MS) + ' ms'}")
    return good


@contextmanager
def sqlite_app() -> Iterator[Flask]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder)
        app = create_app(settings(f"sqlite:///{path / 'bench.sqlite3'}", path / "spool"))
        yield app
        close(app)


@contextmanager
def postgres_app(server_url: str) -> Iterator[Flask]:
    name = f"ivr_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        with tempfile.TemporaryDirectory() as folder:
            url = urlsplit(server_url)._replace(path=f"/{name}").geturl()
            app = create_app(settings(url, Path(folder) / "spool"))
            yield app
            close(app)
    finally:
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def close(app: Flask) -> None:
    hotline: Hotline = app.extensions["ivr"]
    hotline.call_log.close(timeout=2)
    hotline.callback_requests.stop()
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--requests", type=int, default=100_000)
    options = parser.parse_args()
    # The app's own settings must not come from the developer's environment.
    with mock.patch.dict(os.environ, {}, clear=False):
        for name in [name for name in os.environ if name in ("DATABASE_URL", "IVR_ENV")]:
            del os.environ[name]
        good = True
        if options.database in ("sqlite", "both"):
            with sqlite_app() as app:
                good = measure("SQLite", app, options.requests) and good
        if options.database in ("postgresql", "both"):
            server = os.environ.get("IVR_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
            try:
                psycopg.connect(server, connect_timeout=3).close()
            except psycopg.Error as error:
                print(f"PostgreSQL: skipped, cannot connect to {server} ({error})")
            else:
                with postgres_app(server) as app:
                    good = measure("PostgreSQL", app, options.requests) and good
    print(f"target: median under {TARGET_MS} ms of server time: {'met' if good else 'NOT met'}")
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
