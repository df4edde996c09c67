"""`make bench`: webhook throughput and latency under gunicorn as in production, beside the
floor (a constant-TwiML app under the same gunicorn settings), measured in the same run, and
beside an empty Flask app serving at the same time, the two measured in alternating slices.

Load comes from wrk (C, light on the CPU the server needs), replaying signed requests for
distinct calls. Signature checks, JSON logging and the call log are all on, as in production.

    python -m bench.webhooks [--database sqlite|postgresql|both] [--seconds 16] [--connections 50]

With `--beside REV` it measures this working tree against an earlier revision of the app
instead, both serving at once in alternating slices, each on its own database: a change to a
webhook's cost is told from the machine's drift to within about 3 %, which one run against the
empty Flask app cannot do.

    python -m bench.webhooks --beside HEAD~1 [--database postgresql] [--seconds 15]

With `--without PARTS` the app is served with parts of every webhook switched off
(`bench/without.py`: `log`, `call-log`), to see what they cost under load:

    python -m bench.webhooks --without log,call-log [--database postgresql]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psycopg
import sqlalchemy as sa
from cryptography.fernet import Fernet
from twilio.request_validator import RequestValidator

from bench import without

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PUBLIC_BASE_URL = "https://bench.invalid"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
REQUESTS_PER_SCENARIO = 50_000
# Callers' mobile prefixes, one country per language: a caller of each language calls from a
# country whose callers hear it first.
PREFIXES = {"ru": "+7916", "uk": "+38050", "en": "+44791"}

WRK_SCRIPT = r"""
local requests = {}
local counter = 0
init = function(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    local path, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", path, {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = signature}, body)
  end
  file:close()
  counter = math.random(#requests)
end
request = function()
  counter = counter % #requests + 1
  return requests[counter]
end
done = function(summary, latency, _)
  local errors = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\n", summary.requests, summary.duration,
    errors.status + errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


@dataclass(frozen=True)
class Figures:
    requests: int
    per_second: float
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    extra: dict[str, str]


SCENARIOS = [
    Scenario("/voice/incoming", "/voice/incoming", {"CallStatus": "ringing"}),
    Scenario("/voice/menu/input (language key)", "/voice/menu/input?node=language&try=1",
             {"CallStatus": "in-progress", "Digits": "2"}),
    Scenario("/voice/menu/input (main menu key)", "/voice/menu/input?node=main&lang=ru&try=1",
             {"CallStatus": "in-progress", "Digits": "3"}),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=16)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: as gunicorn.conf.py decides)")
    parser.add_argument("--beside", metavar="REV", default=None,
                        help="measure the working tree against this git revision of the app")
    parser.add_argument("--without", metavar="PARTS", default="",
                        help="switch off parts of the app's webhooks (comma-separated): "
                        + "; ".join(f"{name}: {what}" for name, what in without.PARTS.items()))
    options = parser.parse_args()
    try:
        options.parts_off = without.parts_named(options.without)
    except ValueError as error:
        parser.error(str(error))
    if shutil.which("wrk") is None:
        sys.exit("bench: wrk is not installed (Debian: apt-get install wrk)")

    databases = ["sqlite", "postgresql"] if options.database == "both" else [options.database]
    with tempfile.TemporaryDirectory(prefix="ivr-bench-") as scratch:
        work = Path(scratch)
        token = secrets.token_urlsafe(24)
        for scenario in SCENARIOS:
            write_requests(work / f"{slug(scenario.name)}.tsv", scenario, token)
        (work / "replay.lua").write_text(WRK_SCRIPT)
        print(f"gunicorn: {describe_workers(options.workers)}; wrk: {options.connections} "
              f"connections, {options.seconds} s per figure, after a 2 s warm-up")
        if options.parts_off:
            print(f"the app without: {', '.join(sorted(options.parts_off))} (bench/without.py)")
        if options.beside:
            revision = extract_revision(options.beside, work / "revision")
            for database in databases:
                measure_beside_revision(work, options, database, token, revision)
            return
        floor = measure_floor(work, options, "bench.floor:app")
        print(f"\nfloor (constant TwiML, plain WSGI): {floor.per_second:.0f} req/s, p50 "
              f"{floor.p50_ms:.1f} ms, p99 {floor.p99_ms:.1f} ms")
        for database in databases:
            with database_url(database, work) as url:
                measure_app(work, options, database, url, token, floor)


def describe_workers(workers: int | None) -> str:
    count = workers or 2 * (os.cpu_count() or 1) + 1
    return f"{count} sync workers on {os.cpu_count()} cores"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def write_requests(path: Path, scenario: Scenario, token: str) -> None:
    """Signed requests for distinct calls, one per line: path, signature, body."""
    validator = RequestValidator(token)
    url = PUBLIC_BASE_URL + scenario.path
    lines = []
    for _ in range(REQUESTS_PER_SCENARIO):
        prefix = random.choice(list(PREFIXES.values()))
        caller = prefix + str(random.randint(1000000, 9999999))
        params = {"CallSid": "CA" + secrets.token_hex(16), "AccountSid": "AC" + "1" * 32,
                  "From": caller, "To": "+15005550006", "Direction": "inbound",
                  "ApiVersion": "2010-04-01", **scenario.extra}
        signature = validator.compute_signature(url, params)
        lines.append(f"{scenario.path}\t{signature}\t{urlencode(params)}")
    path.write_text("\n".join(lines) + "\n")


@contextmanager
def database_url(database: str, work: Path) -> Iterator[str]:
    if database == "sqlite":
        yield f"sqlite:///{work / 'bench.sqlite3'}"
        return
    server = os.environ.get("IVR_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    name = f"ivr_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlsplit(server)._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def app_target(parts_off: set[str]) -> str:
    return "bench.without:served()" if parts_off else "wsgi:app"


def app_environment(url: str, token: str, port: int,
                    parts_off: set[str] | None = None) -> dict[str, str]:
    return {
        **os.environ,
        **({without.WITHOUT: ",".join(sorted(parts_off))} if parts_off else {}),
        "IVR_ENV": "production",
        "DATABASE_URL": url,
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": token,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "SECRET_KEY": secrets.token_urlsafe(40),
        "PHONE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "PHONE_HASH_KEY": secrets.token_urlsafe(40),
        "LOG_LEVEL": "INFO",
        "HOTLINE_NUMBER": "+15005550006",
        "CALLBACK_CALLER_IDS": "+15005550007",
        "PORT": str(port),
        "HOST": "127.0.0.1",
    }


def measure_floor(work: Path, options: argparse.Namespace, target: str) -> Figures:
    """A reference app under the same gunicorn settings, on the first scenario's requests."""
    port = free_port()
    environ = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1"}
    with gunicorn(target, environ, options.workers, work / f"{slug(target)}.log"):
        return load(work, SCENARIOS[0], port, options)


def measure_app(work: Path, options: argparse.Namespace, database: str, url: str, token: str,
                floor: Figures) -> None:
    """Each webhook against the empty Flask app under the same gunicorn, both serving at once
    and measured in alternating slices: this machine's speed drifts by a fifth over minutes,
    and a reference taken once, minutes before, would carry that drift into the ratio."""
    port, flask_port = free_port(), free_port()
    environ = app_environment(url, token, port, options.parts_off)
    subprocess.run([str(BIN / "ivr"), "db", "upgrade"], env=environ, cwd=ROOT, check=True,
                   capture_output=True)
    flask_environ = {**os.environ, "PORT": str(flask_port), "HOST": "127.0.0.1"}
    print(f"\n{database}")
    print(f"  {'webhook':<36} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} "
          f"{'to floor':>8} {'empty Flask':>11} {'to it':>6}")
    answered = [0]
    log_path = work / f"app-{database}.log"
    with gunicorn("bench.flask_floor:app", flask_environ, options.workers,
                  work / f"flask-{database}.log"), \
            gunicorn(app_target(options.parts_off), environ, options.workers, log_path):
        for scenario in SCENARIOS:
            figures, bare_flask = load_beside(work, scenario, port, flask_port, options,
                                              answered)
            ratio = figures.per_second / floor.per_second
            to_flask = figures.per_second / bare_flask.per_second
            print(f"  {scenario.name:<36} {figures.per_second:>8.0f} {figures.p50_ms:>7.1f} "
                  f"{figures.p99_ms:>7.1f} {figures.errors:>6} {ratio:>8.2f} "
                  f"{bare_flask.per_second:>11.0f} {to_flask:>6.2f}")
    if "call-log" in options.parts_off:
        print("  call log: off (--without call-log)")
        return
    stored = count_events(url)
    # wrk does not count requests still in flight when it stops; the app answers and logs them.
    lost = max(0, answered[0] - stored)
    print(f"  call log: {answered[0]} webhooks counted by wrk (warm-ups included), {stored} "
          f"events stored, lost: {lost}")


def extract_revision(revision: str, into: Path) -> Path:
    """The app as it was at `revision` (git archive), to be served beside the working tree."""
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", revision],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        sys.exit(f"bench: no revision {revision!r} here: "
                 f"{archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def measure_beside_revision(work: Path, options: argparse.Namespace, database: str,
                            token: str, revision: Path) -> None:
    """This working tree (ours) and an earlier revision (theirs), each on its own database,
    under the same gunicorn settings, measured in alternating slices."""
    (work / "revision-db").mkdir(exist_ok=True)
    with database_url(database, work) as url, \
            database_url(database, work / "revision-db") as their_url:
        port, their_port = free_port(), free_port()
        environ = app_environment(url, token, port, options.parts_off)
        # The revision's own package comes first on the path, ahead of the installed one.
        theirs = {**app_environment(their_url, token, their_port),
                  "PYTHONPATH": os.pathsep.join(filter(None, [str(revision),
                                                             os.environ.get("PYTHONPATH")]))}
        for env, cwd in ((environ, ROOT), (theirs, revision)):
            subprocess.run([str(BIN / "python"), "-c", "from ivr.cli import main; main()",
                            "db", "upgrade"], env=env, cwd=cwd, check=True, capture_output=True)
        print(f"\n{database}: this working tree against {options.beside}")
        print(f"  {'webhook':<36} {options.beside:>12} {'this tree':>10} {'ratio':>6}")
        with gunicorn("wsgi:app", theirs, options.workers, work / f"rev-{database}.log",
                      cwd=revision), \
                gunicorn(app_target(options.parts_off), environ, options.workers,
                         work / f"app-{database}.log"):
            for scenario in SCENARIOS:
                ours, before = load_beside(work, scenario, port, their_port, options, [0])
                print(f"  {scenario.name:<36} {before.per_second:>12.0f} "
                      f"{ours.per_second:>10.0f} {ours.per_second / before.per_second:>6.3f}")


# Eight slices of two seconds each: from one slice to the next this machine's speed moves a
# webhook's ratio to the empty Flask app by ±0.06, and five left ±0.03 in the figure.
SLICES = 8
# After a slice, the time the call log's writer takes to store what it still holds (it waits
# a quarter of a second for a batch to gather, then writes it).
SETTLE_SECONDS = 0.5


def load_beside(work: Path, scenario: Scenario, port: int, reference_port: int,
                options: argparse.Namespace, answered: list[int]) -> tuple[Figures, Figures]:
    """The app and the reference on the same requests, in alternating slices of the time.

    What an app still does for a slice once wrk has stopped (the call log's last batch, and
    PostgreSQL's part in it) is that slice's work too: the processor time the app and the
    database spend while they settle is counted into the slice, as the time it would have
    taken of both cores under load. Without it, an app that puts work off (a longer wait for
    a batch to gather) would look faster by the work it left for after the slice."""
    requests = work / f"{slug(scenario.name)}.tsv"
    warm_up = run_wrk(work, requests, port, options.connections, 2)
    run_wrk(work, requests, reference_port, options.connections, 2)
    seconds = max(1, round(options.seconds / SLICES))
    ours, theirs = [], []
    time.sleep(SETTLE_SECONDS)
    for _ in range(SLICES):
        theirs.append(settled(run_wrk(work, requests, reference_port, options.connections,
                                      seconds), reference_port))
        ours.append(settled(run_wrk(work, requests, port, options.connections, seconds), port))
    answered[0] += sum(run.requests - run.errors for run in (warm_up, *ours))
    return combined(ours), combined(theirs)


def settled(figures: Figures, port: int) -> Figures:
    """`figures` with the time the app serving `port` and the database take to finish the
    slice's work after it (waited for SETTLE_SECONDS, which also leaves the next slice a
    machine at rest) added to the slice's time."""
    processes = serving(port)
    before = cpu_seconds(processes)
    time.sleep(SETTLE_SECONDS)
    deferred = cpu_seconds(processes) - before
    if not figures.per_second:
        return figures
    duration = figures.requests / figures.per_second + deferred / (os.cpu_count() or 1)
    return dataclasses.replace(figures, per_second=figures.requests / duration)


def serving(port: int) -> list[int]:
    """The gunicorn serving `port` (its master and workers) and PostgreSQL's processes."""
    master = SERVERS.get(port)
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        stat = process_stat(entry.name)
        if stat is None:
            continue
        name, fields = stat
        pid, parent = int(entry.name), int(fields[1])
        if name == "postgres" or master in (pid, parent):
            found.append(pid)
    return found


def cpu_seconds(processes: list[int]) -> float:
    """User and system time of these processes, all their threads, so far."""
    ticks = 0
    for pid in processes:
        stat = process_stat(str(pid))
        if stat is not None:  # else gone since: what it did is lost to the count, as to wrk's
            ticks += int(stat[1][11]) + int(stat[1][12])
    return ticks / CLOCK_TICKS


def process_stat(pid: str) -> tuple[str, list[str]] | None:
    """A process's name and the fields of /proc/PID/stat after it; None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.index("(") + 1:text.rindex(")")], text.rsplit(")", 1)[1].split()


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Each gunicorn's master by the port it serves (gunicorn() fills it in).
SERVERS: dict[int, int] = {}


def combined(runs: list[Figures]) -> Figures:
    total = sum(run.requests for run in runs)
    seconds = sum(run.requests / run.per_second for run in runs if run.per_second)
    return Figures(total, total / seconds if seconds else 0.0, sum(run.errors for run in runs),
                   sorted(run.p50_ms for run in runs)[len(runs) // 2],
                   max(run.p99_ms for run in runs), max(run.max_ms for run in runs))


def load(work: Path, scenario: Scenario, port: int, options: argparse.Namespace,
         answered: list[int] | None = None) -> Figures:
    """Warm up for 2 s, then measure; add every request answered to `answered`."""
    requests = work / f"{slug(scenario.name)}.tsv"
    warm_up = run_wrk(work, requests, port, options.connections, 2)
    figures = run_wrk(work, requests, port, options.connections, options.seconds)
    if answered is not None:
        answered[0] += sum(run.requests - run.errors for run in (warm_up, figures))
    return figures


def run_wrk(work: Path, requests: Path, port: int, connections: int, seconds: int) -> Figures:
    result = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(work / "replay.lua"),
         f"http://127.0.0.1:{port}", "--", str(requests)],
        capture_output=True, text=True, check=True, timeout=seconds + 60)
    match = re.search(r"^RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)$", result.stdout, re.M)
    if match is None:
        sys.exit(f"bench: could not read wrk's output:\n{result.stdout}{result.stderr}")
    total, micros, errors, p50, p99, worst = (int(value) for value in match.groups())
    return Figures(total, total / (micros / 1e6), errors, p50 / 1000, p99 / 1000, worst / 1000)


def count_events(url: str) -> int:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return int(connection.scalar(sa.text("SELECT count(*) FROM call_events")) or 0)
    finally:
        engine.dispose()


@contextmanager
def gunicorn(target: str, environ: dict[str, str], workers: int | None,
             log: Path, cwd: Path = ROOT) -> Iterator[subprocess.Popen[bytes]]:
    command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", target]
    if workers:
        command += ["--workers", str(workers)]
    with log.open("w") as output:
        server = subprocess.Popen(command, cwd=cwd, env=environ, stdout=output, stderr=output)
        SERVERS[int(environ["PORT"])] = server.pid
        try:
            wait_for_port(int(environ["PORT"]), server, log)
            yield server
        finally:
            # A graceful stop: workers store what the call log still holds.
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)


def wait_for_port(port: int, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"bench: gunicorn exited:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(1)  # let every worker finish booting
                return
        except OSError:
            time.sleep(0.1)
    sys.exit("bench: gunicorn did not start listening within 30 s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


if __name__ == "__main__":
    main()
