"""`make bench`, whole calls: simulated callers leave callback requests against gunicorn as in
production, the way Twilio would drive them (signed requests, following the TwiML: Gather
actions, Redirects, the Record action, the recording status callback, the status callback).

Each caller chooses a language, presses 2 for a callback request and confirms their number:
three presses, and they hear their request saved with its number; then they hang up, as a
caller who must be quick does. With --full they stay on: they answer the two safe-to-call
questions, leave a message, and hang up. The run prints completed calls per second,
p50/p95/p99 per webhook, errors, and the callback requests the callers heard as saved
(`acknowledged`) beside those in the database afterwards (`stored`): they must be equal.

    python -m bench.calls [--database sqlite|postgresql|both] [--calls 200] [--concurrency 20]
                          [--think 0] [--full] [--warm-up 100] [--workers N]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import sqlalchemy as sa

from bench.webhooks import (
    BIN,
    PREFIXES,
    PUBLIC_BASE_URL,
    ROOT,
    app_environment,
    database_url,
    free_port,
    gunicorn,
)
from ivr import phones
from ivr.menu.menu_file import load_menu
from ivr.menu.prompts import load_catalog
from ivr.twilio.phone_simulator import CallFailed, Heard, Phone, Send, prompt_names
from ivr.twilio.trial_call import saved_reference

LANGUAGE_KEYS = ("1", "2", "3")
MAX_STEPS = 20


@dataclass
class Timings:
    """Latency of each webhook, by path, from every client thread."""

    by_path: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.by_path[path].append(seconds * 1000)
            if not ok:
                self.errors += 1


def http_sender(port: int, timings: Timings) -> Send:
    """A `send` for the simulated phone: requests to PUBLIC_BASE_URL go to the local port.

    Plain sockets, a connection per request, as gunicorn's sync workers close each one: the
    callers share the machine's two cores with the server, so they are kept light (http.client
    cost a caller about a millisecond of CPU per request, a quarter of the server's)."""

    def send(method: str, url: str, params: dict[str, str],
             headers: dict[str, str]) -> tuple[int, str, bytes]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = urlencode(params).encode() if method == "POST" else b""
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        message = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                   f"Content-Type: application/x-www-form-urlencoded\r\n"
                   f"Content-Length: {len(body)}\r\nConnection: close\r\n{head}\r\n"
                   ).encode() + body
        started = time.perf_counter()
        try:
            status, content_type, data = exchange(port, message)
        except OSError:
            # As for Twilio, a request that died with its worker is not retried here: the
            # phone goes on through the fallback URL, if it has one.
            timings.add(parts.path, time.perf_counter() - started, ok=False)
            raise
        timings.add(parts.path, time.perf_counter() - started, ok=status < 400)
        return status, content_type, data

    return send


def exchange(port: int, message: bytes) -> tuple[int, str, bytes]:
    """Send one HTTP/1.1 request and read its response: (status, Content-Type, body). A
    response cut short (its worker killed) is a ConnectionError."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.sendall(message)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionError("the connection closed before a response")
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        fields = {name.lower(): value for name, _, value in
                  (line.partition(": ") for line in lines[1:])}
        length = int(fields.get("content-length", "0"))
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                raise ConnectionError("the response was cut short")
            body += chunk
    return int(lines[0].split(" ", 2)[1]), fields.get("content-type", ""), body[:length]


@cache
def shipped_prompt_names() -> dict[tuple[str, str], str]:
    """Which prompt each <Say> of the shipped prompts speaks: a language on Twilio's voice
    has no recording to tell its prompts by."""
    menu = load_menu(ROOT / "prompts" / "menu.yaml")
    catalog = load_catalog(menu, ROOT / "prompts")
    return prompt_names(catalog.prompts.values())


def leave_a_callback_request(phone: Phone, rng: random.Random | None = None,
                             hang_up: bool = True, think: float = 0.0,
                             full: bool = False) -> str | None:
    """One caller's call; the request number they heard as saved, or None.

    The caller answers what they hear, as a person would, so a question asked again (after a
    step failed and Twilio's fallback retried it) is simply answered again. They hang up once
    they hear their request saved, or, `full`, after answering the optional questions and
    leaving a message. `think`: about how many seconds they take to answer (0: at once, the
    harshest load).
    """
    rng = rng or random.Random()
    if think:
        time.sleep(rng.uniform(0, 2 * think))  # callers do not all dial at the same instant
    heard = phone.dial()
    for _ in range(MAX_STEPS):
        if not full and reference_heard(phone.heard) is not None:
            break
        if think:
            time.sleep(think * rng.uniform(0.5, 1.5))
        if phone.recording:
            heard = phone.record(rng.randint(3, 40))
        elif phone.listening:
            heard = phone.press(answer_to(heard, rng))
        else:
            break
    reference = reference_heard(phone.heard)
    # Callbacks nobody hears: one that fails (its worker killed) does not fail the call.
    with suppress(OSError, http.client.HTTPException):
        if phone.last_recording is not None:
            phone.recording_ready()
        if hang_up:
            phone.hang_up(duration=rng.randint(40, 120), sequence=3)
    return reference


def answer_to(heard: list[Heard], rng: random.Random) -> str:
    said = {item.prompt for item in heard}
    if "language_option" in said:
        return rng.choice(LANGUAGE_KEYS)
    if "callback_identify" in said:
        return rng.choice("12")  # may we say who we are
    if "callback_window" in said:
        return rng.choice("123")  # when it is safe to call
    if "callback_hour" in said:
        return f"{rng.randrange(24):02d}"  # the hour where they are
    if said & {"callback_confirm_keys", "callback_entered_keys"}:
        return "1"  # yes, this number
    return "2"  # the main menu: a callback request


def reference_heard(heard: list[Heard]) -> str | None:
    """The digits read out after "your request is saved", as `ivr call simulate` reads them."""
    saved = saved_reference(heard)
    return saved[0] if saved else None


def distinct_callers(count: int) -> list[str]:
    """Valid mobile numbers of the three countries, none twice (each leaves its own request)."""
    rng, used = random.Random(), set[str]()
    return [new_caller(rng.choice(list(PREFIXES.values())), rng, used) for _ in range(count)]


def new_caller(prefix: str, rng: random.Random, used: set[str]) -> str:
    """A valid mobile number after `prefix`, not in `used` (each call leaves its own
    request); it is added to `used`."""
    while True:
        number = prefix + f"{rng.randrange(10_000_000):07d}"
        if phones.normalise(number) == number and number not in used:
            used.add(number)
            return number


@dataclass
class Burst:
    """What the callers of a burst heard."""

    references: list[str | None]  # the request number each caller heard; None: not saved
    failed: int  # calls in which the caller would have heard Twilio's error
    fallbacks: int  # steps that failed and went through Twilio's fallback URL
    seconds: float

    @property
    def acknowledged(self) -> int:
        return sum(1 for reference in self.references if reference is not None)


def run_calls(send: Send, token: str, calls: int, concurrency: int,
              fallback_path: str | None = None, think: float = 0.0,
              callers: list[str] | None = None, full: bool = False) -> Burst:
    """Play `calls` calls, `concurrency` at a time, each leaving a callback request (from
    `callers`, or from as many new numbers); `full`: with the answers and a message."""
    callers = callers or distinct_callers(calls)
    names = shipped_prompt_names()  # once, before the clock starts: it reads every recording
    failed: list[int] = []
    fallbacks: list[int] = []

    def one(index: int) -> str | None:
        phone = Phone(send=send, auth_token=token, base_url=PUBLIC_BASE_URL,
                      caller=callers[index], account_sid="AC" + "1" * 32,
                      call_sid="CA" + secrets.token_hex(16), fallback_path=fallback_path,
                      prompt_names=names)
        try:
            return leave_a_callback_request(phone, random.Random(index), think=think, full=full)
        except (CallFailed, OSError, http.client.HTTPException) as error:
            print(f"  call failed: {error}", file=sys.stderr)
            failed.append(index)
            return None
        finally:
            fallbacks.append(phone.fallbacks)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        references = list(pool.map(one, range(calls)))
    return Burst(references, len(failed), sum(fallbacks), time.perf_counter() - started)


def count_stored(url: str) -> tuple[int, int]:
    """(callback requests, those with their message attached) in the database."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            requests = connection.scalar(sa.text("SELECT count(*) FROM callback_requests"))
            messages = connection.scalar(sa.text(
                "SELECT count(*) FROM callback_requests WHERE recording_sid IS NOT NULL"))
            return int(requests or 0), int(messages or 0)
    finally:
        engine.dispose()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def print_timings(timings: Timings) -> None:
    print(f"  {'webhook':<28} {'requests':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for path, values in sorted(timings.by_path.items()):
        print(f"  {path:<28} {len(values):>8} {statistics.median(values):>7.1f} "
              f"{percentile(values, 0.95):>7.1f} {percentile(values, 0.99):>7.1f}")


def measure(database: str, options: argparse.Namespace, work: Path) -> bool:
    """One run on one database; False if a caller heard "saved" for a request not stored."""
    work.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    with database_url(database, work) as url:
        port = free_port()
        environ = {**app_environment(url, token, port), "SPOOL_DIR": str(work / "spool")}
        subprocess.run([str(BIN / "ivr"), "db", "upgrade"], env=environ, cwd=ROOT, check=True,
                       capture_output=True)
        timings = Timings()
        with gunicorn("wsgi:app", environ, options.workers, work / f"calls-{database}.log"):
            # Every worker connects, prepares its statements and fills its caches before the
            # clock starts; what the warm-up's callers were told is checked with the rest.
            callers = distinct_callers(options.warm_up + options.calls)  # none calls twice
            warm_up = run_calls(http_sender(port, Timings()), token, options.warm_up,
                                options.concurrency, full=options.full,
                                callers=callers[:options.warm_up])
            client_before = resource.getrusage(resource.RUSAGE_SELF)
            burst = run_calls(http_sender(port, timings), token, options.calls,
                              options.concurrency, think=options.think, full=options.full,
                              callers=callers[options.warm_up:])
            client_after = resource.getrusage(resource.RUSAGE_SELF)
        stored, messages = count_stored(url)
    pace = f", about {options.think:g} s per answer" if options.think else ", no pauses"
    journey = ("the whole journey (3 presses, 2 answers, a message)" if options.full
               else "hanging up once saved (3 presses)")
    print(f"\n{database}: {options.calls} calls, {options.concurrency} at a time{pace}, "
          f"{journey}, after {options.warm_up} calls to warm up\n  "
          f"{burst.seconds:.1f} s: {options.calls / burst.seconds:.1f} calls/s, "
          f"{sum(len(v) for v in timings.by_path.values()) / burst.seconds:.0f} webhooks/s")
    client_cpu = (client_after.ru_utime + client_after.ru_stime
                  - client_before.ru_utime - client_before.ru_stime)
    print(f"  the simulated callers themselves used {client_cpu:.1f} s of CPU "
          f"({client_cpu / burst.seconds:.2f} of {os.cpu_count()} cores) on this machine")
    print_timings(timings)
    print(f"  errors: {timings.errors} HTTP, {burst.failed} calls failed")
    acknowledged = warm_up.acknowledged + burst.acknowledged
    print(f"  callback requests (warm-up included): acknowledged {acknowledged}, stored "
          f"{stored} ({messages} with their message)")
    return acknowledged == stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20, help="calls in progress")
    parser.add_argument("--think", type=float, default=0.0,
                        help="seconds a caller takes to answer, about (default 0: at once)")
    parser.add_argument("--warm-up", type=int, default=100,
                        help="calls before the clock starts, not counted (default 100)")
    parser.add_argument("--full", action="store_true",
                        help="callers answer the optional questions and leave a message")
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: as gunicorn.conf.py decides)")
    options = parser.parse_args()
    databases = ["sqlite", "postgresql"] if options.database == "both" else [options.database]
    with tempfile.TemporaryDirectory(prefix="ivr-bench-calls-") as scratch:
        equal = [measure(database, options, Path(scratch) / database) for database in databases]
    if not all(equal):
        sys.exit("bench: a caller was told a request was saved that is not stored")


if __name__ == "__main__":
    main()
