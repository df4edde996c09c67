"""`make bench`, the website's chat: 200 open chats exchanging messages with operators, against
gunicorn as in production on PostgreSQL. The figure: how long an operator's reply takes to
reach the person's page, measured as the page sees it: from the operator's POST returning to
the person's poll of `/chat/updates` (as chat.js asks, every POLL_SECONDS) bringing the text.

Each chat is held by one of the operators (signed in over HTTP, with their second factor, as
in production); every few seconds each operator replies in one of their chats, each person
writes now and then, every person's page polls, and each operator's page polls the chat it
shows (as chats.js does). The run prints the delivery's p50, p99 and max, the messages
delivered, and errors (any HTTP answer that is not the expected one, any reply never seen).

    python -m bench.chats [--database postgresql|sqlite] [--chats 200] [--operators 20]
                          [--seconds 60] [--reply-every 10] [--workers N]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pyotp
import sqlalchemy as sa
from flask import Flask

from bench.webhooks import BIN, ROOT, app_environment, database_url, free_port, gunicorn
from ivr import create_app
from ivr.chat import conversations
from ivr.database import db
from ivr.models import ChatConversation, Operator
from ivr.operators import accounts

# As chat.js asks for news (a test keeps the two equal).
POLL_SECONDS = 1.0
# As chats.js asks for the person's news on the operator's page.
OPERATOR_POLL_SECONDS = 2.0
TARGET_P99_SECONDS = 2.0
PASSWORD = "bench password, long enough"  # noqa: S105 (a throwaway database)
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
LANGUAGE = "uk"

# (method, path, headers, form) -> (status, headers, body)
Send = Callable[[str, str, dict[str, str], dict[str, str] | None],
                tuple[int, dict[str, str], bytes]]


@dataclass(frozen=True)
class Chat:
    id: int
    token: str
    operator: str


@dataclass(frozen=True)
class Desk:
    chats: list[Chat]
    secrets: dict[str, str]  # each operator's TOTP secret


def prepare(app: Flask, chats: int, operators: int) -> Desk:
    """Operators of Ukrainian on duty and available, each with a second factor, and `chats`
    live chats held by them in turn (the take itself is the page's, tested elsewhere)."""
    hotline = app.extensions["ivr"]
    vault = hotline.vault
    now = datetime.now(UTC)
    found: list[Chat] = []
    keys: dict[str, str] = {}
    with app.app_context():
        session = db.session()
        people = []
        for index in range(operators):
            login = f"op{index:03d}"
            person = accounts.add_operator(
                session, vault, login=login, name=f"Operator {index}", phone="+380501112233",
                languages=(LANGUAGE,), known_languages=tuple(hotline.menu.languages),
                role="operator", password=PASSWORD)
            keys[login] = pyotp.random_base32()
            person.totp_secret = vault.seal(keys[login])
            person.on_duty, person.presence = True, "available"
            people.append(person)
        session.flush()
        tokens = [conversations.new_token() for _ in range(chats)]
        rows = [ChatConversation(
            token_hash=vault.digest(token), language=LANGUAGE, mode="live", status="held",
            channel=conversations.WEB, operator_id=people[index % operators].id,
            created_at=now, waiting_since=now, taken_at=now, updated_at=now, seen_at=now)
            for index, token in enumerate(tokens)]
        session.add_all(rows)
        session.flush()
        logins = {person.id: person.login for person in people}
        found = [Chat(row.id, token, logins[row.operator_id or 0])
                 for row, token in zip(rows, tokens, strict=True)]
        session.commit()
    return Desk(found, keys)


def http_sender(port: int) -> Send:
    """A connection per request, as gunicorn's sync workers close each one."""

    def send(method: str, path: str, headers: dict[str, str],
             form: dict[str, str] | None) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            body = urlencode(form).encode() if form is not None else None
            sent = dict(headers)
            if body is not None:
                sent["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            got = response.read()
            cookies = "; ".join(value.split(";", 1)[0] for name, value in response.getheaders()
                                if name.lower() == "set-cookie")
            return response.status, {"set-cookie": cookies}, got
        finally:
            connection.close()

    return send


class Browser:
    """Cookies kept between requests, as a browser keeps them."""

    def __init__(self, send: Send, cookies: dict[str, str] | None = None) -> None:
        self.send = send
        self.cookies = dict(cookies or {})

    def go(self, method: str, path: str,
           form: dict[str, str] | None = None) -> tuple[int, bytes]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} \
            if self.cookies else {}
        status, got, body = self.send(method, path, headers, form)
        for pair in filter(None, (part.strip() for part in got.get("set-cookie", "")
                                  .split(";"))):
            name, _, value = pair.partition("=")
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return status, body


def csrf_of(body: bytes) -> str:
    found = CSRF.search(body.decode("utf-8", "replace"))
    if found is None:
        raise RuntimeError("no CSRF token on the page")
    return found.group(1)


def sign_in(send: Send, login: str, secret: str | None) -> Browser:
    """The operator signs in over HTTP: password, then (in production) a fresh TOTP code."""
    browser = Browser(send)
    _, page = browser.go("GET", "/operators/login")
    status, _ = browser.go("POST", "/operators/login", {
        "csrf_token": csrf_of(page), "login": login, "password": PASSWORD})
    if status != 302:
        raise RuntimeError(f"sign-in of {login}: HTTP {status}")
    status, page = browser.go("GET", "/operators/second-factor")
    if status == 200 and secret is not None:
        status, _ = browser.go("POST", "/operators/second-factor", {
            "csrf_token": csrf_of(page), "code": pyotp.TOTP(secret).now()})
        if status != 302:
            raise RuntimeError(f"second factor of {login}: HTTP {status}")
    return browser


@dataclass
class Tally:
    sent: dict[str, float] = field(default_factory=dict)  # reply text -> its POST returned
    seen: dict[str, float] = field(default_factory=dict)  # reply text -> the page had it
    errors: int = 0
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self) -> None:
        with self.lock:
            self.errors += 1

    def latencies(self) -> list[float]:
        # A poll that was out while the reply was stored may bring it before the operator's
        # POST has returned: delivered at once.
        return sorted(max(0.0, self.seen[text] - self.sent[text]) for text in self.seen
                      if text in self.sent)


def person_page(browser: Browser, tally: Tally, stop: threading.Event, poll: float,
                rng: random.Random, write_every: float) -> None:
    """The person's page: polls /chat/updates as chat.js does (skipping a round while one is
    still out), and the person writes now and then with the chat's form."""
    after = 0
    form_token: str | None = None
    next_poll = time.monotonic() + rng.uniform(0, poll)
    next_write = time.monotonic() + rng.uniform(0, write_every)
    while not stop.is_set():
        moment = time.monotonic()
        if moment >= next_write:
            next_write = moment + rng.uniform(0.5, 1.5) * write_every
            if form_token is None:
                status, page = browser.go("GET", "/chat/")
                found = re.search(rb'name="form_token" value="([0-9a-f]+)"', page)
                form_token = found.group(1).decode() if found else ""
            status, _ = browser.go("POST", "/chat/send", {
                "form_token": form_token, "message": f"person {secrets.token_hex(4)}"})
            _count(tally, status in (303, 429))  # 429: the flood limit, a readable answer
        if moment >= next_poll:
            status, body = browser.go("GET", f"/chat/updates?after={after}")
            got = time.monotonic()
            _count(tally, status == 200)
            if status == 200:
                after = _seen(body, after, got, tally)
            next_poll += poll
            while next_poll < time.monotonic():  # setInterval: a round still out is skipped
                next_poll += poll
        stop.wait(max(0.0, min(next_poll, next_write) - time.monotonic()))


def _seen(body: bytes, after: int, at: float, tally: Tally) -> int:
    import json

    for message in json.loads(body)["messages"]:
        after = max(after, int(message["id"]))
        if message["author"] == "operator":
            with tally.lock:
                tally.seen.setdefault(message["text"], at)
    return after


def _count(tally: Tally, ok: bool) -> None:
    with tally.lock:
        tally.requests += 1
        if not ok:
            tally.errors += 1


def operator_page(browser: Browser, chats: list[Chat], tally: Tally, stop: threading.Event,
                  reply_every: float, rng: random.Random) -> None:
    """An operator with several chats: replies in each in turn (each chat about every
    `reply_every` seconds), and their page polls the chat it shows."""
    tokens: dict[int, str] = {}
    per_reply = reply_every / max(len(chats), 1)
    next_reply = time.monotonic() + rng.uniform(0, per_reply)
    next_poll = time.monotonic() + rng.uniform(0, OPERATOR_POLL_SECONDS)
    turn = 0
    while not stop.is_set():
        moment = time.monotonic()
        chat = chats[turn % len(chats)]
        if moment >= next_reply:
            if chat.id not in tokens:
                status, page = browser.go("GET", f"/operators/chats/{chat.id}")
                _count(tally, status == 200)
                tokens[chat.id] = csrf_of(page) if status == 200 else ""
            text = f"reply {chat.id} {secrets.token_hex(6)}"
            status, _ = browser.go("POST", f"/operators/chats/{chat.id}/reply",
                                   {"csrf_token": tokens[chat.id], "message": text})
            returned = time.monotonic()
            _count(tally, status == 302)
            if status == 302:
                with tally.lock:
                    tally.sent[text] = returned
            turn += 1
            next_reply += per_reply
        if moment >= next_poll:
            status, _ = browser.go("GET", f"/operators/chats/{chat.id}/updates?after=0")
            _count(tally, status == 200)
            next_poll = moment + OPERATOR_POLL_SECONDS
        stop.wait(max(0.0, min(next_reply, next_poll) - time.monotonic()))


@dataclass(frozen=True)
class Result:
    latencies: list[float]
    sent: int
    delivered: int
    errors: int
    requests: int
    seconds: float
    client_cpu: float = 0.0  # seconds of CPU the simulated pages used on this machine

    @property
    def never_seen(self) -> int:
        return self.sent - self.delivered


def run(send: Send, desk: Desk, seconds: float, reply_every: float = 10.0,
        write_every: float = 15.0, poll: float = POLL_SECONDS, settle: float = 5.0,
        seed: int = 15) -> Result:
    """Every person's page and every operator at once for `seconds`; then the pages poll for
    `settle` more seconds so the last replies can arrive."""
    rng = random.Random(seed)
    tally = Tally()
    by_operator: dict[str, list[Chat]] = {}
    for chat in desk.chats:
        by_operator.setdefault(chat.operator, []).append(chat)
    browsers = {login: sign_in(send, login, desk.secrets.get(login)) for login in by_operator}
    stop_writing, stop_reading = threading.Event(), threading.Event()
    threads = [threading.Thread(target=operator_page, daemon=True, args=(
        browsers[login], chats, tally, stop_writing, reply_every, random.Random(rng.random())))
        for login, chats in by_operator.items()]
    threads += [threading.Thread(target=person_page, daemon=True, args=(
        Browser(send, {"chat": chat.token}), tally, stop_reading, poll,
        random.Random(rng.random()), write_every)) for chat in desk.chats]
    started = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_SELF)
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop_writing.set()
    time.sleep(settle)
    stop_reading.set()
    for thread in threads:
        thread.join(timeout=30)
    elapsed = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    latencies = tally.latencies()
    return Result(latencies, len(tally.sent), len(latencies), tally.errors, tally.requests,
                  elapsed, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(share * len(values)))] if values else float("nan")


def report(result: Result, chats: int, poll: float) -> str:
    values = result.latencies
    return (f"  {chats} chats, pages polling every {poll:g} s, {result.seconds:.0f} s: "
            f"{result.requests} requests ({result.requests / result.seconds:.0f}/s)\n"
            f"  an operator's reply reached the person's page in: "
            f"p50 {percentile(values, 0.5):.2f} s, p99 {percentile(values, 0.99):.2f} s, "
            f"max {max(values, default=float('nan')):.2f} s"
            f" (target p99 < {TARGET_P99_SECONDS:g} s)\n"
            f"  messages: {result.sent} replies sent, {result.delivered} seen on the page, "
            f"{result.never_seen} never seen; errors: {result.errors}\n"
            f"  the simulated pages used {result.client_cpu:.0f} s of CPU "
            f"({result.client_cpu / result.seconds:.2f} of {os.cpu_count()} cores); load average "
            f"{os.getloadavg()[0]:.1f} at the end")


def measure(database: str, options: argparse.Namespace, work: Path) -> bool:
    work.mkdir(parents=True, exist_ok=True)
    with database_url(database, work) as url:
        port = free_port()
        environ = {**app_environment(url, secrets.token_urlsafe(24), port),
                   "SPOOL_DIR": str(work / "spool"), "LOG_LEVEL": "WARNING",
                   "CHAT_MESSAGES_PER_MINUTE": "60"}
        subprocess.run([str(BIN / "ivr"), "db", "upgrade"], env=environ, cwd=ROOT, check=True,
                       capture_output=True)
        names = ("IVR_ENV", "DATABASE_URL", "SECRET_KEY", "PHONE_ENCRYPTION_KEYS",
                 "PHONE_HASH_KEY", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL",
                 "HOTLINE_NUMBER", "CALLBACK_CALLER_IDS", "SPOOL_DIR", "LOG_LEVEL")
        desk = prepare(create_app({name: environ[name] for name in names}), options.chats,
                       options.operators)
        with gunicorn("wsgi:app", environ, options.workers, work / f"chats-{database}.log"):
            result = run(http_sender(port), desk, options.seconds, options.reply_every,
                         options.write_every, options.poll)
        engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            with engine.connect() as connection:
                held = connection.scalar(sa.select(sa.func.count()).select_from(
                    ChatConversation).where(ChatConversation.status == "held"))
                operators = connection.scalar(sa.select(sa.func.count()).select_from(Operator))
        finally:
            engine.dispose()
    print(f"\n{database}: {held} chats held by {operators} operators, gunicorn as in production")
    print(report(result, options.chats, options.poll))
    return (result.errors == 0 and result.never_seen == 0
            and percentile(result.latencies, 0.99) < TARGET_P99_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--operators", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--reply-every", type=float, default=10.0,
                        help="seconds between an operator's replies in one chat, about")
    parser.add_argument("--write-every", type=float, default=15.0,
                        help="seconds between a person's messages, about")
    parser.add_argument("--poll", type=float, default=POLL_SECONDS,
                        help="seconds between a page's polls (default: as chat.js)")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: as gunicorn.conf.py decides)")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ivr-bench-chats-") as scratch:
        good = measure(options.database, options, Path(scratch) / options.database)
    if not good:
        sys.exit("bench: the chat's replies missed their figure (or errors; see above)")


if __name__ == "__main__":
    main()
