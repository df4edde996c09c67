from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import flask_migrate
import psycopg
import pytest
import responses
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from ivr import create_app
from ivr.database import db
from ivr.settings import PROJECT_ROOT
from ivr.twilio.phone_simulator import Phone
from tests import page_support, support
from tests.fake_twilio import FakeTwilio
from tests.support import AUTH_TOKEN, BASE_URL, hotline_of, settings_for

POSTGRES_URL_VARIABLE = "IVR_TEST_POSTGRES_URL"
SHIPPED_PROMPTS = PROJECT_ROOT / "prompts"
SETTING_PREFIXES = ("IVR_", "DATABASE_URL", "TWILIO_", "PUBLIC_BASE_URL", "TRUSTED_PROXY",
                    "SECRET_KEY", "PHONE_", "LOG_LEVEL", "PROMPTS_DIR", "OPERATORS_2FA",
                    "REVEAL_2FA", "TELEGRAM_")


@pytest.fixture(autouse=True, scope="session")
def _clean_environment() -> Iterator[None]:
    """The developer's own settings must not leak into the tests (the test PostgreSQL URL
    is read before this, see postgres_server_url)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(SETTING_PREFIXES) and name != POSTGRES_URL_VARIABLE:
                patch.delenv(name)
        yield


@pytest.fixture(autouse=True, scope="session")
def _story_prompts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    support.STORY_PROMPTS.append(support.prompts_playing_recordings(
        SHIPPED_PROMPTS, tmp_path_factory.mktemp("prompts") / "prompts"))
    yield
    support.STORY_PROMPTS.clear()


@pytest.fixture(autouse=True, scope="session")
def _shipped_prompts_stay_as_they_are() -> Iterator[None]:
    """No test may change the prompts in the checkout (tests that change prompts work on a
    copy in tmp_path): a file added, removed or rewritten there fails the run."""
    before = _files_in(SHIPPED_PROMPTS)
    yield
    after = _files_in(SHIPPED_PROMPTS)
    changed = sorted(name for name in before.keys() | after.keys()
                     if before.get(name) != after.get(name))
    if changed:
        pytest.fail(f"the tests changed {SHIPPED_PROMPTS}: {', '.join(changed)}")


def _files_in(folder: Path) -> dict[str, tuple[int, int]]:
    """Each file (hidden ones too) by its path in `folder`: size and modification time."""
    return {str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
            for path in folder.rglob("*") if path.is_file()}


def close(app: Flask) -> None:
    hotline_of(app).call_log.close(timeout=2)
    hotline_of(app).callback_requests.stop()
    with app.app_context():
        db.engine.dispose()


def migrate(app: Flask) -> None:
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def template_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test: migrations run once per session."""
    path = tmp_path_factory.mktemp("template") / "ivr.sqlite3"
    app = create_app(settings_for(f"sqlite:///{path}", SPOOL_DIR=str(path.parent / "spool")))
    migrate(app)
    close(app)
    return path


@pytest.fixture
def make_app(tmp_path: Path, template_database: Path) -> Iterator[Callable[..., Flask]]:
    """Build an app on its own copy of the database; keyword arguments are settings."""
    apps: list[Flask] = []

    def make(**settings: str) -> Flask:
        path = tmp_path / f"ivr-{len(apps)}.sqlite3"
        shutil.copy(template_database, path)
        app = create_app(settings_for(f"sqlite:///{path}", **{
            "SPOOL_DIR": str(tmp_path / f"spool-{len(apps)}"), **settings}))
        apps.append(app)
        return app

    yield make
    for app in apps:
        close(app)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """The `ivr` command of the test app: `runner.invoke(args=["surge"])`."""
    return app.test_cli_runner()


def phone_for(app: Flask) -> Callable[..., Phone]:
    client = app.test_client()

    def send(method: str, url: str, params: dict[str, str],
             headers: dict[str, str]) -> tuple[int, str, bytes]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        response = client.open(path, method=method, data=params if method == "POST" else None,
                               headers=headers)
        body = response.get_data()
        response.close()  # as a WSGI server does, running what waits for the response to end
        return response.status_code, response.content_type or "", body

    def make(**details: str) -> Phone:
        return Phone(send=send, auth_token=AUTH_TOKEN, base_url=BASE_URL, fetch_media=True,
                     **details)  # type: ignore[arg-type]

    return make


@pytest.fixture
def phone(app: Flask) -> Callable[..., Phone]:
    """A caller's phone, calling the test app: `phone(caller="+380...")`."""
    return phone_for(app)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(f"{POSTGRES_URL_VARIABLE} is not set")
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database of its own for one test."""
    name = f"ivr_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield urlsplit(postgres_server_url)._replace(path=f"/{name}").geturl()
    with psycopg.connect(postgres_server_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_app(postgres_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(settings_for(postgres_url, SPOOL_DIR=str(tmp_path / "spool")))
    migrate(app)
    yield app
    close(app)


NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # every language's operators are open


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    """Twilio's REST API, faked: what the app sent it is kept (see tests/fake_twilio.py)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeTwilio(mock)


@pytest.fixture
def desk_app(app: Flask) -> Flask:
    """The app at noon, when every language's operators answer."""
    hotline_of(app).clock.fixed = NOON
    return app


@pytest.fixture
def page(app: Flask) -> Flask:
    """The operators' page with the whole team signed up (tests.page_support.PEOPLE), its
    forms taken without their CSRF token (the tokens have stories of their own)."""
    page_support.add_people(app)
    return page_support.without_csrf(app)


@pytest.fixture
def engineer(monkeypatch: pytest.MonkeyPatch) -> str:
    """Alice runs the `ivr` commands: the audit log's login for what they change."""
    monkeypatch.delenv("SUDO_USER", raising=False)
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, "alice")
    return "cli:alice"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium for the browser stories: Playwright's sync API allows one per test
    session, so every story file shares this one."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--autoplay-policy=no-user-gesture-required"])
        yield chromium
        chromium.close()
