"""`make journeys`: issue 12's journeys of a caller in danger, walked in every language against
gunicorn as in production on PostgreSQL, with what each costs the caller and whether it meets
its goal.

1. operator   choose the language, press 1: in an operator's queue in 2 presses, <= 20 s
2. callback   the language, 2, confirm the number: a saved request in 3 presses, <= 25 s
3. nobody     nobody on duty: the language, 1, confirm: a saved request in 3 presses, <= 30 s
4. silent     presses nothing at all: in the queue (an operator free) within 60 s, the
              timeouts included
5. silent, nobody on duty: a saved request within 60 s, the timeouts included

Each call is driven by what the caller hears, not by a fixed script: the language menu gets
that language's key, the main menu 1 or 2 (or nothing), a confirmation of the number 1;
anything else is left to time out. A call stops at its goal: in the queue, or "saved" heard
with the request's number (checked in the database). Seconds of prompts: each recording its
WAV's length, each <Say> at 14 characters a second, every prompt heard in full up to the goal;
timeouts: the <Gather> and <Record> timeouts sat through, counted from the end of the prompts.

An operator is on duty and every language's hours open around the clock; for "nobody" the
operator is taken off duty with `ivr operators duty`. The run exits non-zero when a call
whose caller ID was known ends with neither a queue nor a stored request; a goal missed is
reported, not a failure.

    python -m bench.journeys [--lang ru] [--workers 2]
"""

from __future__ import annotations

import argparse
import random
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import sqlalchemy as sa

from bench.calls import Timings, http_sender, new_caller
from bench.drill import always_open_prompts, engine_for, prepare, with_an_operator_on_duty
from bench.webhooks import BIN, PREFIXES, PUBLIC_BASE_URL, ROOT, database_url, gunicorn
from ivr.menu.menu_file import load_menu
from ivr.menu.prompts import load_catalog
from ivr.models import CallbackRequest, RequestCall
from ivr.twilio.phone_simulator import (
    CallFailed,
    Heard,
    Phone,
    Send,
    prompt_names,
    seconds_heard,
)
from ivr.twilio.trial_call import language_key, saved_reference

LANGUAGES = ("ru", "uk", "en")
MAX_STEPS = 40
OPERATOR = "drill-operator"  # the one bench.drill puts on duty
Stored = Callable[[str, str], bool]  # (call SID, reference heard) -> stored?

MAIN_MENU = frozenset({"main_intro", "option_operator", "option_callback", "option_about",
                       "option_language"})
CONFIRMATION = frozenset({"callback_confirm", "callback_confirm_keys"})


@dataclass(frozen=True)
class Journey:
    name: str
    title: str
    main_key: str | None  # what the caller presses at the main menu; None: they press nothing
    goal: str  # "queue" or "saved"
    presses: int  # at most
    seconds: float  # at most: of prompts, and of timeouts too when `with_timeouts`
    nobody_on_duty: bool = False
    with_timeouts: bool = False

    def describe_goal(self) -> str:
        where = "in the queue" if self.goal == "queue" else "a saved request"
        if self.with_timeouts:
            return f"{where} within {self.seconds:g} s, timeouts included"
        return f"{where} in {self.presses} presses, <= {self.seconds:g} s of prompts"


JOURNEYS = (
    Journey("operator", "1 to an operator's queue", "1", "queue", 2, 20),
    Journey("callback", "2 to a saved request", "2", "saved", 3, 25),
    Journey("nobody", "3 nobody on duty, a request", "1", "saved", 3, 30, nobody_on_duty=True),
    Journey("silent", "4 presses nothing", None, "queue", 0, 60, with_timeouts=True),
    Journey("silent-nobody", "4 presses nothing, nobody", None, "saved", 0, 60,
            nobody_on_duty=True, with_timeouts=True),
)


@dataclass(frozen=True)
class Walk:
    """What one call cost the caller, up to its goal (or to its end, if it never got there)."""

    presses: int
    prompt_seconds: float
    timeout_seconds: int
    round_trips: int
    ending: str  # "queue", "saved" or "lost"
    reference: str | None = None
    stored: bool = False
    last_heard: str = ""

    @property
    def kept(self) -> bool:
        """The caller reached the way to a human, or a request that is stored."""
        return self.ending == "queue" or (self.ending == "saved" and self.stored)

    def describe_ending(self) -> str:
        if self.ending == "queue":
            return "in the queue"
        if self.ending == "saved":
            return f"saved {self.reference}, {'stored' if self.stored else 'NOT STORED'}"
        return f"LOST ({self.last_heard})"


def verdict(journey: Journey, walk: Walk) -> tuple[bool, str]:
    """Whether the walk met the journey's goal, and if not, why not."""
    misses = []
    if walk.ending != journey.goal or not walk.kept:
        misses.append(f"ended {walk.describe_ending()}")
    if walk.presses > journey.presses:
        misses.append(f"{walk.presses} presses > {journey.presses}")
    seconds = walk.prompt_seconds + (walk.timeout_seconds if journey.with_timeouts else 0)
    if seconds > journey.seconds:
        misses.append(f"{seconds:.1f} s > {journey.seconds:g} s")
    return not misses, "; ".join(misses)


def answer_to(heard: Sequence[Heard], language_key: str, main_key: str | None) -> str | None:
    """What the caller presses after hearing `heard` (None: nothing). The latest question
    heard is the one that waits for an answer."""
    if main_key is None:
        return None  # a caller who presses nothing at all
    for item in reversed(heard):
        if item.prompt in CONFIRMATION:
            return "1"
        if item.prompt in MAIN_MENU:
            return main_key
        if item.prompt == "language_option":
            return language_key
    return None


def counting(send: Send, trips: list[int]) -> Send:
    """`send`, counting the webhooks (not the recordings Twilio fetches for <Play>)."""

    def counted(method: str, url: str, params: dict[str, str],
                headers: dict[str, str]) -> tuple[int, str, bytes]:
        if "/prompts/" not in urlsplit(url).path:
            trips[0] += 1
        return send(method, url, params, headers)

    return counted


def walk(phone: Phone, journey: Journey, language_key: str, prompts_dir: Path,
         stored: Stored) -> Walk:
    """Play one call of the journey, driven by what the caller hears; hang up at the goal.
    `language_key`: the key of the caller's language at the language menu."""
    trips = [0]
    phone.send = counting(phone.send, trips)
    presses = 0
    try:
        heard = phone.dial()
        for _ in range(MAX_STEPS):
            if phone.queued is not None or saved_reference(phone.heard) or phone.hung_up:
                break
            key = answer_to(heard, language_key, journey.main_key)
            if key is None:
                heard = phone.wait()
            else:
                heard = phone.press(key)
                presses += 1
    except CallFailed as error:
        return Walk(presses, seconds_heard(phone.heard, prompts_dir), phone.timeouts_waited,
                    trips[0], "lost", last_heard=f"the call failed: {error}")
    result = _ending(phone, presses, trips[0], prompts_dir, stored)
    if not phone.hung_up:
        phone.hang_up()
    return result


def _ending(phone: Phone, presses: int, trips: int, prompts_dir: Path,
            stored: Stored) -> Walk:
    if phone.queued is not None:
        before = phone.heard[:phone.queued.heard_before]
        return Walk(presses, seconds_heard(before, prompts_dir), phone.timeouts_waited, trips,
                    "queue")
    saved = saved_reference(phone.heard)
    if saved is not None:
        reference, end = saved
        return Walk(presses, seconds_heard(phone.heard[:end], prompts_dir),
                    phone.timeouts_waited, trips, "saved", reference,
                    stored(phone.call_sid, reference))
    last = str(phone.heard[-1]) if phone.heard else "nothing"
    why = "hung up after " if phone.hung_up else f"no goal after {MAX_STEPS} steps; last: "
    return Walk(presses, seconds_heard(phone.heard, prompts_dir), phone.timeouts_waited, trips,
                "lost", last_heard=why + last)


def stored_in(engine: sa.Engine) -> Stored:
    """Whether the call's request is in the database under the number its caller heard."""

    def stored(call_sid: str, reference: str) -> bool:
        with engine.connect() as connection:
            row = connection.execute(
                sa.select(RequestCall.reference, CallbackRequest.reference)
                .join(CallbackRequest, CallbackRequest.id == RequestCall.request_id)
                .where(RequestCall.call_sid == call_sid)).first()
        return row is not None and reference in (row[0], row[1])

    return stored


@dataclass(frozen=True)
class Row:
    journey: Journey
    language: str
    walk: Walk


def table(rows: Sequence[Row]) -> list[str]:
    lines = [f"{'journey':<29} {'lang':<4} {'presses':>7} {'prompts':>8} {'timeouts':>8} "
             f"{'trips':>5}  {'ended':<24} goal"]
    for row in rows:
        met, why = verdict(row.journey, row.walk)
        walk = row.walk
        lines.append(
            f"{row.journey.title:<29} {row.language:<4} {walk.presses:>7} "
            f"{walk.prompt_seconds:>6.1f} s {walk.timeout_seconds:>6} s {walk.round_trips:>5}  "
            f"{walk.describe_ending():<24} {'✓' if met else '✗'} "
            f"{row.journey.describe_goal()}{'' if met else f' ({why})'}")
    met_count = sum(1 for row in rows if verdict(row.journey, row.walk)[0])
    lost = sum(1 for row in rows if not row.walk.kept)
    lines.append(f"goals met: {met_count} of {len(rows)}; calls that ended with neither the "
                 f"queue nor a stored request: {lost}")
    return lines


def play(send: Send, token: str, journeys: Sequence[Journey], languages: Sequence[str],
         prompts_dir: Path, stored: Stored, rng: random.Random, used: set[str]) -> list[Row]:
    menu = load_menu(prompts_dir / "menu.yaml")
    catalog = load_catalog(menu, prompts_dir)
    names = prompt_names(catalog.prompts.values())
    rows = []
    for journey in journeys:
        for language in languages:
            phone = Phone(send=send, auth_token=token, base_url=PUBLIC_BASE_URL,
                          caller=new_caller(PREFIXES[language], rng, used),
                          account_sid="AC" + "1" * 32, prompt_names=names)
            key = language_key(menu, language)
            rows.append(Row(journey, language, walk(phone, journey, key, prompts_dir, stored)))
    return rows


def off_duty(environ: dict[str, str]) -> None:
    subprocess.run([str(BIN / "ivr"), "operators", "duty", OPERATOR, "off"], env=environ,
                   cwd=ROOT, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lang", action="append", choices=list(LANGUAGES),
                        help="only this language (repeatable; default: ru, uk and en)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ivr-journeys-") as scratch:
        rows = run(Path(scratch), options.lang or list(LANGUAGES), options.workers)
    print("\n".join(table(rows)))
    if any(not row.walk.kept for row in rows):
        sys.exit("journeys: a caller whose number we knew ended with neither an operator's "
                 "queue nor a stored request")


def run(work: Path, languages: list[str], workers: int) -> list[Row]:
    """Every journey in every language, against gunicorn as in production on PostgreSQL."""
    token = secrets.token_urlsafe(24)
    rng, used = random.Random(), set[str]()
    with database_url("postgresql", work) as url:
        prompts_dir = always_open_prompts(work)
        environ = {**prepare(url, work, token), "PROMPTS_DIR": str(prompts_dir)}
        with_an_operator_on_duty(environ)
        engine = engine_for(url)
        try:
            with gunicorn("wsgi:app", environ, workers, work / "journeys.log"):
                send = http_sender(int(environ["PORT"]), Timings())
                staffed = [journey for journey in JOURNEYS if not journey.nobody_on_duty]
                rows = play(send, token, staffed, languages, prompts_dir, stored_in(engine),
                            rng, used)
                off_duty(environ)
                nobody = [journey for journey in JOURNEYS if journey.nobody_on_duty]
                rows += play(send, token, nobody, languages, prompts_dir, stored_in(engine),
                             rng, used)
        finally:
            engine.dispose()
    return sorted(rows, key=lambda row: JOURNEYS.index(row.journey))


if __name__ == "__main__":
    main()
