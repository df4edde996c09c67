"""`make drill`: faults, played against gunicorn as in production on PostgreSQL, each ending
with a line `lost: N, duplicated: M` about the callback requests callers heard as saved.

- kill: a gunicorn worker is killed with SIGKILL in the middle of a burst of calls; a call
  whose request died with it goes on through Twilio's fallback URL, as Twilio would.
- outage: the database is unreachable for 30 s during a burst (a TCP proxy of the drill's own
  between the app and PostgreSQL is stopped, then started again); callers still hear valid
  TwiML, requests wait in the spool and arrive once the database is back.
- retries: every webhook and callback sent twice (with Twilio's idempotency token), status
  callbacks out of order; the stored state must equal that of one clean delivery.
- instances: two instances on different ports share one PostgreSQL database, and each webhook
  of a call goes to either at random; the calls must behave exactly as on one instance.
- diskfull: the spool's disk (a small tmpfs) fills during a database outage, then frees;
  callers who heard "saved" and callers who hung up while waiting for an operator must all
  be stored once the database is back.
- torn: during an outage, a record in the spool is left cut in the middle, as a crash in
  the middle of a write leaves it, and more records are appended after it; every intact one
  is stored and the torn one is set aside, not dropped.
- spooldir: the spool's folder becomes read-only, then is replaced by a file, while the
  database is healthy; no caller may notice.

    python -m bench.drill [kill] [outage] [retries] [instances] [diskfull] [torn] [spooldir]
                          [--calls 200]
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pyotp
import sqlalchemy as sa

from bench.calls import (
    Burst,
    Timings,
    distinct_callers,
    http_sender,
    leave_a_callback_request,
    run_calls,
    shipped_prompt_names,
)
from bench.webhooks import (
    BIN,
    PUBLIC_BASE_URL,
    ROOT,
    app_environment,
    database_url,
    free_port,
    gunicorn,
)
from ivr.phones import PhoneVault
from ivr.twilio.phone_simulator import Phone, Send

FALLBACK = "/voice/fallback"
OUTAGE_SECONDS = 30.0
SPOOL_DRAIN_SECONDS = 60.0


@dataclass(frozen=True)
class Instance:
    url: str
    environ: dict[str, str]
    vault: PhoneVault


@contextmanager
def database(work: Path) -> Iterator[str]:
    with database_url("postgresql", work) as url:
        yield url


def prepare(url: str, work: Path, token: str, name: str = "app") -> dict[str, str]:
    port = free_port()
    environ = {**app_environment(url, token, port), "SPOOL_DIR": str(work / f"spool-{name}")}
    subprocess.run([str(BIN / "ivr"), "db", "upgrade"], env=environ, cwd=ROOT, check=True,
                   capture_output=True)
    return environ


def vault_of(environ: dict[str, str]) -> PhoneVault:
    return PhoneVault((environ["PHONE_ENCRYPTION_KEYS"],), environ["PHONE_HASH_KEY"])


def engine_for(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def verdict(url: str, burst: Burst, queue_callers: list[str] | None = None,
            vault: PhoneVault | None = None, untold: int = 0) -> tuple[int, int]:
    """Print and return (lost, duplicated): a request heard as saved but not stored (or, of
    `queue_callers`, a caller who hung up in the queue and has no request; or `untold`
    callers who were not told saved when they should have been), and a caller stored more
    than once."""
    heard = Counter(reference for reference in burst.references if reference is not None)
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                "SELECT reference, number_hash FROM callback_requests")).all()
            # A number told from the spool stays with its call, should it renew an older one.
            told = set(connection.scalars(sa.text(
                "SELECT reference FROM callback_calls WHERE reference IS NOT NULL")))
    finally:
        engine.dispose()
    stored = {row.reference for row in rows} | told
    lost = sum(count for reference, count in heard.items() if reference not in stored)
    if lost:
        missing = sorted(reference for reference in heard if reference not in stored)
        print(f"  not stored: {', '.join(missing[:20])}")
    duplicated = len(rows) - len({row.number_hash for row in rows})
    print(f"  calls: {len(burst.references)}, told saved: {sum(heard.values())}, stored: "
          f"{len(rows)}, steps through the fallback URL: {burst.fallbacks}, calls that heard an "
          f"error: {burst.failed}")
    if queue_callers and vault is not None:
        hashes = {row.number_hash for row in rows}
        not_kept = sum(1 for caller in queue_callers if vault.digest(caller) not in hashes)
        print(f"  callers who hung up in the queue: {len(queue_callers)}, with a request: "
              f"{len(queue_callers) - not_kept}")
        lost += not_kept
    if untold:
        print(f"  callers not told saved although the database was healthy: {untold}")
    lost += untold
    print(f"  lost: {lost}, duplicated: {duplicated}")
    return lost, duplicated


def wait_for_spool(spool: Path, port: int | None = None) -> int:
    """Wait until the instance has replayed its spool (and, given its port, written what its
    workers held in memory); how many operations still wait."""
    deadline = time.monotonic() + SPOOL_DRAIN_SECONDS
    while True:
        waiting = sum(1 for path in [*spool.glob("replaying-*.log"), spool / "spool.log"]
                      if path.exists() for line in path.read_bytes().split(b"\n")
                      if line.strip())
        held = held_in_memory(port) if port is not None else ""
        if (waiting == 0 and not held) or time.monotonic() > deadline:
            rejected = spool / "rejected.log"
            if rejected.exists():
                reasons = Counter(line.split(b" ")[1].decode()
                                  for line in rejected.read_bytes().splitlines())
                print(f"  spool set aside (rejected.log): {dict(reasons)}")
            if held:
                print(f"  still {held}")
            return waiting + (1 if held else 0)
        time.sleep(0.5)


def held_in_memory(port: int) -> str:
    """What the instance's readiness says of its spool, when it holds operations in memory."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/readyz")
        checks = json.loads(connection.getresponse().read()).get("checks", {})
    except (OSError, http.client.HTTPException, ValueError):
        return ""
    finally:
        connection.close()
    spool = str(checks.get("spool", ""))
    return spool if "held in memory" in spool else ""


def workers_of(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


# --- the drills ---------------------------------------------------------------------------


def drill_kill(options: argparse.Namespace, work: Path) -> tuple[int, int]:
    print("\nkill: SIGKILL a gunicorn worker in the middle of a burst")
    token = secrets.token_urlsafe(24)
    with database(work) as url:
        environ = prepare(url, work, token)
        port = int(environ["PORT"])
        with gunicorn("wsgi:app", environ, None, work / "kill.log") as master:
            result: list[Burst] = []
            burst = threading.Thread(target=lambda: result.append(run_calls(
                http_sender(port, Timings()), token, options.calls, 20, FALLBACK, full=True)))
            burst.start()
            killed = 0
            for _ in range(3):
                time.sleep(0.7)
                victims = workers_of(master.pid)
                if victims and burst.is_alive():
                    victim = random.choice(victims)
                    subprocess.run(["kill", "-KILL", str(victim)], check=False)
                    killed += 1
            burst.join()
        print(f"  workers killed: {killed}")
        left = wait_for_spool(Path(environ["SPOOL_DIR"]))
        if left:
            print(f"  spool still holds {left} operation(s)")
        return verdict(url, result[0])


class TcpProxy:
    """A TCP proxy the drill can stop (connections refused, open ones cut) and start again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            for connection in self._open:
                with suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
                connection.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            try:
                upstream = socket.create_connection(self.target, timeout=3)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)


def drill_outage(options: argparse.Namespace, work: Path) -> tuple[int, int]:
    print(f"\noutage: the database unreachable for {options.outage:.0f} s during calls")
    token = secrets.token_urlsafe(24)
    with database(work) as url:
        proxy = TcpProxy(("127.0.0.1", 5432))
        proxy.start()
        proxied = url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
        environ = prepare(proxied, work, token)
        port = int(environ["PORT"])
        bursts: list[Burst] = []
        stop = threading.Event()

        numbers = iter(distinct_callers(40_000))

        def callers() -> None:
            while not stop.is_set():
                batch = [next(numbers) for _ in range(40)]  # every caller a new number
                bursts.append(run_calls(http_sender(port, Timings()), token, 40, 10, FALLBACK,
                                        callers=batch, full=True))

        with gunicorn("wsgi:app", environ, None, work / "outage.log"):
            burst = threading.Thread(target=callers)
            burst.start()
            time.sleep(2)
            proxy.stop()
            before = len(bursts)
            time.sleep(options.outage)
            during = sum(burst.acknowledged for burst in bursts[before:])
            proxy.start()
            time.sleep(3)
            stop.set()
            burst.join()
            print(f"  callers told saved while the database was away: {during} or more")
            left = wait_for_spool(Path(environ["SPOOL_DIR"]))
        proxy.stop()
        if left:
            print(f"  spool still holds {left} operation(s)")
        return verdict(url, Burst([ref for burst in bursts for ref in burst.references],
                                  sum(burst.failed for burst in bursts),
                                  sum(burst.fallbacks for burst in bursts),
                                  sum(burst.seconds for burst in bursts)))


def twice(send: Send) -> Send:
    """Every request delivered twice with the same idempotency token, as Twilio retries."""

    def deliver(method: str, url: str, params: dict[str, str],
                headers: dict[str, str]) -> tuple[int, str, bytes]:
        headers = {**headers, "I-Twilio-Idempotency-Token": uuid.uuid4().hex}
        send(method, url, params, headers)
        return send(method, url, params, headers)

    return deliver


def play_calls(send: Send, token: str, callers: list[str], shuffled_statuses: bool
               ) -> list[str | None]:
    """The same callers making the same choices; status callbacks in order, or shuffled."""
    references = []
    for index, caller in enumerate(callers):
        phone = Phone(send=send, auth_token=token, base_url=PUBLIC_BASE_URL, caller=caller,
                      account_sid="AC" + "1" * 32, call_sid=f"CA{index:032x}",
                      prompt_names=shipped_prompt_names())
        references.append(leave_a_callback_request(phone, random.Random(index), hang_up=False,
                                                   full=True))
        reports = [("ringing", "0"), ("in-progress", "1"), ("completed", "2")]
        if shuffled_statuses:
            random.Random(-index).shuffle(reports)
        for status, sequence in reports:
            phone.status_callback(status, SequenceNumber=sequence, CallDuration="61")
    return references


def stored_state(url: str, vault: PhoneVault) -> dict[str, object]:
    """What a clean delivery and a noisy one must agree on, keyed by the caller's number."""
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            requests = connection.execute(sa.text(
                "SELECT number, language, reason, status, attempts, may_identify, safe_window, "
                "number_confirmed, recording_duration, recording_sid IS NOT NULL AS message "
                "FROM callback_requests")).all()
            calls = connection.execute(sa.text(
                "SELECT c.call_sid, c.status, c.duration_seconds, c.language, "
                "(SELECT count(*) FROM call_events e WHERE e.call_sid = c.call_sid) AS events "
                "FROM calls c")).all()
    finally:
        engine.dispose()
    state: dict[str, object] = {}
    for row in requests:
        key = f"request {vault.decrypt(row.number)}"
        state[key] = (*row[1:],) if key not in state else "DUPLICATE"
    for row in calls:
        state[f"call {row.call_sid}"] = (*row[1:],)
    return state


def drill_retries(options: argparse.Namespace, work: Path) -> tuple[int, int]:
    print("\nretries: every webhook and callback twice, status callbacks out of order")
    token = secrets.token_urlsafe(24)
    callers = distinct_callers(min(options.calls, 100))
    states = []
    for noisy in (False, True):
        with database_url("postgresql", work) as url:
            environ = prepare(url, work, token, name=f"retries-{noisy}")
            port = int(environ["PORT"])
            send = http_sender(port, Timings())
            with gunicorn("wsgi:app", environ, None, work / f"retries-{noisy}.log"):
                references = play_calls(twice(send) if noisy else send, token, callers, noisy)
            states.append(stored_state(url, vault_of(environ)))
            print(f"  {'twice, out of order' if noisy else 'once, in order':<20}: "
                  f"{sum(1 for reference in references if reference)} told saved, "
                  f"{sum(1 for key in states[-1] if key.startswith('request'))} stored")
    clean, noisy_state = states
    lost = sum(1 for key in clean if key not in noisy_state or noisy_state[key] != clean[key])
    duplicated = sum(1 for key, value in noisy_state.items()
                     if key not in clean or value == "DUPLICATE")
    for key in sorted(set(clean) | set(noisy_state)):
        if clean.get(key) != noisy_state.get(key):
            print(f"  differs: {key.split()[0]}: {clean.get(key)} != {noisy_state.get(key)}")
    print(f"  lost: {lost}, duplicated: {duplicated}")
    return lost, duplicated


def either(sends: list[Send]) -> Send:
    def deliver(method: str, url: str, params: dict[str, str],
                headers: dict[str, str]) -> tuple[int, str, bytes]:
        return random.choice(sends)(method, url, params, headers)

    return deliver


class OperatorBrowser:
    """An operator on the page of one instance: a cookie and the form's CSRF token."""

    CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""

    def open(self, method: str, path: str, form: dict[str, str] | None = None
             ) -> tuple[int, str, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            page = response.read().decode("utf-8", errors="replace")
        finally:
            connection.close()
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                self.cookie = value.split(";", 1)[0]  # the session cookie (Secure: sent back
                # by hand, since the drill speaks plain HTTP to the instance)
        return response.status, response.getheader("Location", ""), page

    def token(self, path: str) -> str:
        _, _, page = self.open("GET", path)
        match = self.CSRF.search(page)
        if match is None:
            raise RuntimeError(f"no form on {path}")
        return match.group(1)

    SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')

    def sign_in(self, login: str, password: str) -> None:
        """Password, then (production asks for a second factor) the first sign-in's setting
        up: the key on the page, and a code from it."""
        token = self.token("/operators/login")
        status, location, _ = self.open("POST", "/operators/login", {
            "login": login, "password": password, "csrf_token": token})
        if status != 302:
            raise RuntimeError(f"{login} could not sign in ({status})")
        if location.endswith(("/operators/enrol", "/operators/second-factor")):
            _, _, page = self.open("GET", "/operators/enrol")
            secret, form = self.SECRET.search(page), self.CSRF.search(page)
            if secret is None or form is None:
                raise RuntimeError(f"{login} was not shown a key to set up")
            status, _, _ = self.open("POST", "/operators/enrol", {
                "csrf_token": form.group(1), "code": pyotp.TOTP(secret.group(1)).now()})
            if status != 200:  # the recovery codes, shown once
                raise RuntimeError(f"{login} could not set up a second factor ({status})")

    def claim(self, request_id: int, token: str) -> bool:
        """True if this operator was told the request is theirs."""
        status, location, _ = self.open("POST", f"/operators/requests/{request_id}/claim",
                                        {"csrf_token": token})
        return status == 302 and location.endswith(f"/operators/requests/{request_id}")


def claims_stay_exclusive(url: str, environs: list[dict[str, str]]) -> int:
    """Two operators, each on their own instance, claim every open request at the same moment;
    returns how many requests both were told are theirs (or neither)."""
    password = secrets.token_urlsafe(16)
    browsers = []
    for index, environ in enumerate(environs):
        login = f"drill-operator-{index}"
        subprocess.run([str(BIN / "ivr"), "operators", "add", login, "--name", login,
                        "--phone", "+380501112233", "--languages", "ru,uk,en"],
                       env=environ, cwd=ROOT, input=password + "\n", text=True, check=True,
                       capture_output=True)
        browser = OperatorBrowser(int(environ["PORT"]))
        browser.sign_in(login, password)
        browsers.append(browser)
    engine = engine_for(url)
    try:
        with engine.connect() as connection:
            requests = list(connection.scalars(sa.text(
                "SELECT id FROM callback_requests WHERE status = 'open' ORDER BY id")))
    finally:
        engine.dispose()
    tokens = [browser.token("/operators/") for browser in browsers]
    start = threading.Barrier(len(browsers))
    won: list[set[int]] = [set() for _ in browsers]

    def claim_all(index: int) -> None:
        start.wait()
        for request_id in requests:
            if browsers[index].claim(request_id, tokens[index]):
                won[index].add(request_id)

    threads = [threading.Thread(target=claim_all, args=(index,)) for index in range(len(browsers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    not_exclusive = sum(1 for request_id in requests
                        if sum(request_id in mine for mine in won) != 1)
    print(f"  claims: {len(requests)} requests claimed at once from both instances: "
          f"{[len(mine) for mine in won]} won, {not_exclusive} held by both or neither")
    return not_exclusive


def drill_instances(options: argparse.Namespace, work: Path) -> tuple[int, int]:
    print("\ninstances: two instances on one PostgreSQL, each webhook to either at random")
    token = secrets.token_urlsafe(24)
    with database(work) as url:
        first = prepare(url, work, token, name="first")
        second = {**prepare(url, work, token, name="second"),
                  "PHONE_ENCRYPTION_KEYS": first["PHONE_ENCRYPTION_KEYS"],
                  "PHONE_HASH_KEY": first["PHONE_HASH_KEY"],
                  "SECRET_KEY": first["SECRET_KEY"]}
        sends = [http_sender(int(environ["PORT"]), Timings()) for environ in (first, second)]
        with gunicorn("wsgi:app", first, 2, work / "first.log"), \
                gunicorn("wsgi:app", second, 2, work / "second.log"):
            burst = run_calls(either(sends), token, options.calls, 20, full=True)
            print(f"  {options.calls} calls in {burst.seconds:.1f} s")
            shared = claims_stay_exclusive(url, [first, second])
        lost, duplicated = verdict(url, burst)
        if shared:
            print(f"  claims not exclusive: {shared}")
        return lost, duplicated + shared


# --- the spool's disk ---------------------------------------------------------------------


@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Callable[[str], None]]:
    """A tmpfs of `size` mounted at `path` (root only); yields a way to remount it with other
    options (`size=64m`, `ro`)."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                   check=True, capture_output=True)

    def remount(options: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{options}", str(path)], check=True,
                       capture_output=True)

    try:
        yield remount
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def can_mount(work: Path) -> bool:
    probe = work / "mount-probe"
    try:
        with small_disk(probe, "64k"):
            return True
    except (subprocess.CalledProcessError, OSError):
        return False


def always_open_prompts(work: Path) -> Path:
    """The shipped prompts, with every language's operators answering at any hour: callers
    can wait in a queue whatever time the drill runs."""
    copy = work / "prompts"
    shutil.copytree(ROOT / "prompts", copy)
    menu = copy / "menu.yaml"
    menu.write_text(re.sub(r'open: "[0-9:]+", close: "[0-9:]+"', 'open: "00:00", close: "24:00"',
                           menu.read_text()))
    return copy


def with_an_operator_on_duty(environ: dict[str, str]) -> None:
    subprocess.run([str(BIN / "ivr"), "operators", "add", "drill-operator", "--name", "Drill",
                    "--phone", "+380501112233", "--languages", "ru,uk,en"], env=environ,
                   cwd=ROOT, input=secrets.token_urlsafe(16) + "\n", text=True, check=True,
                   capture_output=True)
    subprocess.run([str(BIN / "ivr"), "operators", "duty", "drill-operator", "on"],
                   env=environ, cwd=ROOT, check=True, capture_output=True)


def join_the_queue(send: Send, token: str, callers: list[str]) -> list[Phone]:
    """Callers who ask for an operator and wait in the queue (an operator is on duty, but
    never answers: the drill has no Twilio to ring them)."""
    waiting = []
    for caller in callers:
        phone = Phone(send=send, auth_token=token, base_url=PUBLIC_BASE_URL, caller=caller,
                      account_sid="AC" + "1" * 32, fallback_path=FALLBACK)
        phone.dial()
        phone.press("1")
        phone.press("1")
        if phone.queued is None:
            raise RuntimeError(f"a caller did not reach the queue: {phone.heard[-3:]}")
        waiting.append(phone)
    return waiting


def hang_up_all(phones: list[Phone]) -> None:
    for phone in phones:
        with suppress(OSError, http.client.HTTPException):
            phone.hang_up()


@dataclass
class Outage:
    """An instance on PostgreSQL behind the drill's proxy, with queue callers possible."""

    url: str
    proxy: TcpProxy
    environ: dict[str, str]
    token: str

    @property
    def port(self) -> int:
        return int(self.environ["PORT"])

    def callers(self, count: int) -> Burst:
        return run_calls(http_sender(self.port, Timings()), self.token, count, 10, FALLBACK,
                         full=True)


@contextmanager
def outage_instance(work: Path, name: str, spool: Path) -> Iterator[Outage]:
    token = secrets.token_urlsafe(24)
    with database(work) as url:
        proxy = TcpProxy(("127.0.0.1", 5432))
        proxy.start()
        proxied = url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
        environ = {**prepare(proxied, work, token, name=name), "SPOOL_DIR": str(spool),
                   "PROMPTS_DIR": str(always_open_prompts(work))}
        with_an_operator_on_duty(environ)
        try:
            with gunicorn("wsgi:app", environ, 2, work / f"{name}.log"):
                yield Outage(url, proxy, environ, token)
        finally:
            proxy.stop()


def drill_diskfull(options: argparse.Namespace, work: Path) -> tuple[int, int]:
    print("\ndiskfull: the spool's disk fills during a database outage, then frees")
    if not can_mount(work):
        print("  skipped: mounting a small tmpfs needs root (CI runs as root)")
        return 0, 0
    spool = work / "spool"
    with small_disk(spool, "64k") as remount, outage_instance(work, "diskfull", spool) as app:
        queue_callers = distinct_callers(10)
        waiting = join_the_queue(http_sender(app.port, Timings()), app.token, queue_callers)
        app.proxy.stop()
        before = app.callers(options.calls // 2)
        hang_up_all(waiting)  # with the database away and the disk full
        full = sum(1 for reference in before.references if reference is None)
        print(f"  with the disk filling: {before.acknowledged} told saved, {full} told to call "
              "again (neither the database nor the disk took their request)")
        remount("size=64m")
        after = app.callers(options.calls // 2)
        print(f"  once the disk freed: {after.acknowledged} told saved")
        app.proxy.start()
        left = wait_for_spool(spool, app.port)
        if left:
            print(f"  spool still holds {left} operation(s)")
        return verdict(app.url, joined(before, after), queue_callers, vault_of(app.environ))


def joined(*bursts: Burst) -> Burst:
    return Burst([reference for burst in bursts for reference in burst.references],
                 sum(burst.failed for burst in bursts), sum(burst.fallbacks for burst in bursts),
                 sum(burst.seconds for burst in bursts))


def tear_a_record(spool: Path) -> None:
    """What a crash in the middle of a write leaves: the first half of a record, no end."""
    log = spool / "spool.log"
    last = [line for line in log.read_bytes().split(b"\n") if line.strip()][-1]
    with log.open("ab") as file:
        file.write(b"\n" + last[:len(last) // 2])


def drill_torn(options: argparse.Namespace, work: Path) -> tuple[int, int]:
    print("\ntorn: a record cut in the middle, as after a crash, then more records appended")
    spool = work / "spool"
    with outage_instance(work, "torn", spool) as app:
        queue_callers = distinct_callers(10)
        waiting = join_the_queue(http_sender(app.port, Timings()), app.token, queue_callers)
        app.proxy.stop()
        before = app.callers(options.calls // 2)
        tear_a_record(spool)
        hang_up_all(waiting)
        after = app.callers(options.calls // 2)
        print(f"  told saved: {before.acknowledged} before the torn record, "
              f"{after.acknowledged} after it")
        app.proxy.start()
        left = wait_for_spool(spool, app.port)
        if left:
            print(f"  spool still holds {left} operation(s)")
        set_aside = (spool / "rejected.log").exists()
        if not set_aside:
            print("  the torn record was not set aside in rejected.log")
        lost, duplicated = verdict(app.url, joined(before, after), queue_callers,
                                   vault_of(app.environ), untold=0 if set_aside else 1)
    return lost, duplicated


def drill_spooldir(options: argparse.Namespace, work: Path) -> tuple[int, int]:
    print("\nspooldir: the spool's folder turns read-only, then is replaced by a file, "
          "while the database is healthy")
    spool = work / "spool"
    mounted = can_mount(work)
    with (small_disk(spool, "1m") if mounted else nullcontext(None)) as remount, \
            outage_instance(work, "spooldir", spool) as app:
        queue_callers = distinct_callers(10)
        waiting = join_the_queue(http_sender(app.port, Timings()), app.token, queue_callers)
        bursts = []
        if remount is not None:
            remount("ro")
            bursts.append(app.callers(options.calls // 2))
            print(f"  read-only: {bursts[-1].acknowledged} of {options.calls // 2} told saved")
            hang_up_all(waiting[:5])
            remount("rw")
            subprocess.run(["umount", "-l", str(spool)], check=False, capture_output=True)
        else:
            print("  (not root: the read-only part is skipped)")
            hang_up_all(waiting[:5])
        shutil.rmtree(spool, ignore_errors=True)
        spool.write_text("a file where the spool's folder was\n")
        bursts.append(app.callers(options.calls // 2))
        print(f"  not a folder: {bursts[-1].acknowledged} of {options.calls // 2} told saved")
        hang_up_all(waiting[5:])
        time.sleep(1)
        burst = joined(*bursts)
        return verdict(app.url, burst, queue_callers, vault_of(app.environ),
                       untold=len(burst.references) - burst.acknowledged)


DRILLS: dict[str, Callable[[argparse.Namespace, Path], tuple[int, int]]] = {
    "kill": drill_kill, "outage": drill_outage, "retries": drill_retries,
    "instances": drill_instances, "diskfull": drill_diskfull, "torn": drill_torn,
    "spooldir": drill_spooldir,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("drills", nargs="*", metavar="DRILL",
                        help=f"some of: {', '.join(DRILLS)} (default: all)")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--outage", type=float, default=OUTAGE_SECONDS,
                        help="seconds the database is away in the outage drill")
    options = parser.parse_args()
    unknown = [name for name in options.drills if name not in DRILLS]
    if unknown:
        parser.error(f"no drill called {', '.join(unknown)}; choose from {', '.join(DRILLS)}")
    failures = []
    with tempfile.TemporaryDirectory(prefix="ivr-drill-") as scratch:
        for name in options.drills or list(DRILLS):
            work = Path(scratch) / name
            work.mkdir()
            lost, duplicated = DRILLS[name](options, work)
            if lost or duplicated:
                failures.append(name)
    if failures:
        sys.exit(f"drill: requests lost or duplicated in: {', '.join(failures)}")


if __name__ == "__main__":
    main()
