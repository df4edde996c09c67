"""`make screenshots`: the operators' page in Ukrainian at 1280 and 390 px wide, on a demo
database: the queue, a request, the figures, and the wallboard where the page has one.

    python -m bench.screenshots OUTDIR

The app runs in this process on a local port (127.0.0.1 only), on a throwaway SQLite
database filled with made-up people and requests (every number fictional); Debian's Chromium
(/usr/bin/chromium) takes the pictures through Playwright (never `playwright install`).
Nothing reaches Twilio. A page that answers 404 (no wallboard yet) is skipped and said so.
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import flask_migrate
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from ivr import create_app
from ivr.callback_requests.store import PRIORITY
from ivr.database import db
from ivr.models import Call, CallbackRequest, CallEvent, Operator, Ring
from ivr.operators import accounts, claims
from ivr.operators.identity import staff_of
from ivr.services import Hotline

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "a demo password, long enough"  # noqa: S105 (a throwaway database)
LANGUAGES = ("uk", "ru", "en")
WIDTHS = {1280: 800, 390: 844}
# name, path ("{request}": the request shown); in this order.
PAGES = (("queue", "/operators/"), ("request", "/operators/requests/{request}"),
         ("figures", "/operators/figures"), ("board", "/operators/board"))
# Made-up numbers of each language's callers: a prefix and how many digits follow it (the
# English ones in the UK's range for drama, 07700 900xxx).
PREFIXES = {"uk": ("+38050", 7), "ru": ("+7916", 7), "en": ("+447700900", 3)}
PEOPLE = (("sofia", "Софія М.", ("uk", "ru", "en"), "supervisor"),
          ("olena", "Олена К.", ("uk", "ru"), "operator"),
          ("ivan", "Іван П.", ("ru",), "operator"),
          ("taras", "Тарас Б.", ("en", "uk"), "operator"))


@dataclass(frozen=True)
class Shot:
    name: str
    width: int
    path: Path


def settings(work: Path) -> dict[str, str]:
    return {"IVR_ENV": "development", "DATABASE_URL": f"sqlite:///{work / 'demo.sqlite3'}",
            "LOG_LEVEL": "WARNING", "SPOOL_DIR": str(work / "spool"),
            "HOTLINE_NUMBER": "+15005550006", "OPERATORS_2FA": "optional",
            "CALLBACK_CALLER_IDS": "+15005550001"}


def demo_app(work: Path) -> Flask:
    app = create_app(settings(work))
    with app.app_context():
        flask_migrate.upgrade()
    return app


def seed(app: Flask, now: datetime) -> int:
    """People on duty, requests in each language, a week of calls for the figures; Sofia
    (the supervisor who takes the pictures) reads the page in Ukrainian and holds one
    request: its id."""
    hotline: Hotline = app.extensions["ivr"]
    rng = random.Random(14)
    with app.app_context():
        session = db.session()
        for login, name, languages, role in PEOPLE:
            accounts.add_operator(session, hotline.vault, login=login, name=name,
                                  phone="+380501112233", languages=languages,
                                  known_languages=LANGUAGES, role=role, password=PASSWORD)
            accounts.set_duty(session, login, True)
        sofia = session.scalars(sa.select(Operator).where(Operator.login == "sofia")).one()
        sofia.page_language = "uk"
        rows = [_request(hotline, index, rng, now) for index in range(24)]
        session.add_all(rows)
        session.add_all(_week_of_calls(rng, now))
        session.flush()
        held = next(row for row in rows if row.status == "open" and row.language == "uk")
        claims.claim(session, staff_of(sofia), held.id, now, hotline.settings.claim_minutes)
        session.commit()
        return held.id


def _request(hotline: Hotline, index: int, rng: random.Random,
             now: datetime) -> CallbackRequest:
    language = LANGUAGES[index % len(LANGUAGES)]
    prefix, digits = PREFIXES[language]
    number = f"{prefix}{(123 + index * 7919) % 10**digits:0{digits}d}"
    reason = rng.choice(tuple(PRIORITY))
    created = now - timedelta(minutes=rng.randrange(5, 60 * 24 * 6))
    closed = index % 3 == 2
    return CallbackRequest(
        reference=f"{400000 + index * 37}", number=hotline.vault.encrypt(number),
        number_hash=hotline.vault.digest(number), number_source="caller_id",
        number_confirmed=True, language=language, reason=reason, priority=PRIORITY[reason],
        status="reached" if closed else "open", outcome="reached" if closed else None,
        may_identify=index % 2 == 0, safe_window=rng.choice(("any", "day", "evening", "wait")),
        caller_timezone="Europe/Kyiv" if language == "uk" else None,
        caller_utc_offset=None if language == "uk" else 180,
        first_call_sid=f"CA{index:032x}", last_call_sid=f"CA{index:032x}", attempts=1,
        callback_attempts=1 if closed else 0, created_at=created, updated_at=created,
        closed_at=created + timedelta(minutes=rng.randrange(10, 90)) if closed else None)


def _week_of_calls(rng: random.Random, now: datetime) -> Iterator[object]:
    """Calls of the last seven days: some answered by an operator, some hung up waiting."""
    operator_id = 1
    for index in range(140):
        at = now - timedelta(minutes=rng.randrange(1, 60 * 24 * 7))
        language = rng.choice(LANGUAGES)
        sid = f"CA{10_000 + index:032x}"
        yield Call(call_sid=sid, direction="inbound", language=language, status="completed",
                   started_at=at, ended_at=at + timedelta(minutes=4))
        if index % 3 == 0:
            yield Ring(operator_id=operator_id, language=language, status="ended",
                       outcome="accepted", created_at=at)
        elif index % 7 == 0:
            yield CallEvent(call_sid=sid, kind="queue", outcome="queue:abandoned", at=at)


@contextmanager
def served(app: Flask) -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def shoot(base: str, out: Path, request_id: int) -> list[Shot]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    shots: list[Shot] = []
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        page = chromium.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(f"{base}/operators/login?lang=uk")
        page.fill("#login", "sofia")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/operators/")
        for name, path in PAGES:
            response = page.goto(base + path.format(request=request_id))
            if response is None or response.status == 404:
                print(f"  {name}: {path} is not on this page (404), skipped")
                continue
            page.wait_for_timeout(300)  # a page that refreshes itself fills in first
            for width, height in WIDTHS.items():
                page.set_viewport_size({"width": width, "height": height})
                target = out / f"{name}-uk-{width}.png"
                page.screenshot(path=str(target), full_page=True)
                shots.append(Shot(name, width, target))
            page.set_viewport_size({"width": 1280, "height": 800})
        chromium.close()
    return shots


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path, help="where the PNG files go")
    options = parser.parse_args(argv)
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium")
    with tempfile.TemporaryDirectory(prefix="ivr-screenshots-") as work:
        app = demo_app(Path(work))
        request_id = seed(app, datetime.now(UTC))
        with served(app) as base:
            shots = shoot(base, options.outdir, request_id)
    for shot in shots:
        print(f"{shot.name:8} {shot.width:5} px  {shot.path}")


if __name__ == "__main__":
    main()
