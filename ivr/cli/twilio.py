"""`ivr info`, `ivr twilio configure-number` and `ivr call simulate`: pointing a Twilio number
at the app, and trying it as a caller would."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from ivr.callback_requests import store
from ivr.cli.engineer import engineer
from ivr.cli.exits import explain, fail
from ivr.database import db
from ivr.models import CallbackRequest
from ivr.operators import claims, ringing, waiting
from ivr.phones import mask
from ivr.services import Hotline, current_hotline
from ivr.settings import DEV_TWILIO_AUTH_TOKEN
from ivr.twilio.call_records import purge_calls
from ivr.twilio.number_wiring import WiringError, configure_number
from ivr.twilio.phone_simulator import (
    CallFailed,
    Heard,
    NotTimed,
    Phone,
    prompt_names,
    seconds_heard,
)
from ivr.twilio.rest_api import TwilioApiError
from ivr.twilio.trial_call import (
    FICTIONAL_CALLER,
    WITHHELD,
    OperatorRing,
    Step,
    TrialCall,
    TrialCallError,
    check_base_url,
    language_key,
    parse_keys,
    saved_reference,
)

# How long --operator looks for the ring the app places once the caller waits: the first ring
# appears within moments; Twilio may take the REST API's timeout to accept or refuse it.
FIRST_RING_SECONDS = 2.0
RING_PLACING_SECONDS = 8.0


@click.command(help="Print the URLs to set in the Twilio console.")
@with_appcontext
def info() -> None:
    settings = current_hotline().settings
    base = settings.public_base_url or f"http://localhost:{os.environ.get('PORT', '8000')}"
    click.echo(f"Voice URL (A call comes in, HTTP POST): {base}/voice/incoming")
    click.echo(f"Primary handler fails (HTTP POST):      {base}/voice/fallback")
    click.echo(f"Call status changes (HTTP POST):        {base}/voice/status")
    if not settings.production and settings.twilio_auth_token == DEV_TWILIO_AUTH_TOKEN:
        click.echo(f"Development auth token (sign test requests with it): {DEV_TWILIO_AUTH_TOKEN}")


@click.group(help="Talk to Twilio about this hotline.")
def twilio() -> None:
    pass


@twilio.command("configure-number", help="Point the number's Voice URL, fallback URL and "
                "status callback at PUBLIC_BASE_URL, and print what changed.")
@click.argument("number")
@with_appcontext
def twilio_configure_number(number: str) -> None:
    hotline = current_hotline()
    try:
        changes = configure_number(hotline.twilio, number, hotline.settings.public_base_url)
    except (WiringError, TwilioApiError) as error:
        fail(str(error))
    for change in changes:
        click.echo(str(change))
    if changes:
        click.echo(f"{number}: {len(changes)} setting(s) changed")
    else:
        click.echo(f"{number}: already wired to {hotline.settings.public_base_url}, "
                   "nothing changed")


@twilio.command("purge-calls", help="Delete at Twilio the records of finished calls older "
                "than TWILIO_CALL_RETENTION_HOURS whose messages and requests are stored here.")
@with_appcontext
def twilio_purge_calls() -> None:
    hotline = current_hotline()
    writer = hotline.callback_requests
    retention = timedelta(hours=hotline.settings.twilio_call_retention_hours)
    purged = purge_calls(hotline.engine, hotline.twilio, hotline.clock.now(), retention,
                         spool_busy=writer.spool.holds_any())
    if purged.waiting_for_spool:
        fail("callback requests wait in the spool: nothing deleted until they are stored "
             "(ivr spool replay)")
    click.echo(f"call records deleted at Twilio: {purged.deleted}"
               f" (already gone there: {purged.gone_already})")
    click.echo(f"left for the next run: {purged.left}")
    if purged.slowed_down:
        click.echo("Twilio asked us to slow down (429): the rest waits for the next run")


@click.group(help="Try the hotline as a caller would.")
def call() -> None:
    pass


@call.command("simulate", help="Play a scripted call against the running app with signed "
              "requests, and print what the caller hears, how long it lasts and each "
              "webhook's latency. A callback request the call leaves is closed afterwards.")
@click.option("--press", "keys", default="", metavar="KEYS",
              help="Keys to press in turn, comma-separated: 1,2,1. `-` stays silent until "
              "Twilio's timeout; `#` ends a message while the call records one.")
@click.option("--url", default=None, help="The app's base URL [default: http://localhost:$PORT].")
@click.option("--lang", default=None, help="Choose this language (ru, uk, en) at the language "
              "menu first; --press then starts at the main menu.")
@click.option("--from", "caller", default=FICTIONAL_CALLER, show_default=True,
              help="The caller ID the call comes from.")
@click.option("--withheld", is_flag=True, help="Call with the caller ID withheld.")
@click.option("--operator", "answer_operator", is_flag=True,
              help="Once the caller waits in the queue, pick up the ring the app placed to an "
              "operator (found in the database), as that operator's phone: accept, be put "
              "through, end the conversation. Not against a production hotline.")
@click.option("--keep", is_flag=True, help="Leave open the callback request the call made "
              "(by default it is closed as soon as the call ends, so that it never waits in "
              "the operators' queue).")
@with_appcontext
def call_simulate(keys: str, url: str | None, lang: str | None, caller: str,
                  withheld: bool, answer_operator: bool, keep: bool) -> None:
    hotline = current_hotline()
    try:
        base = check_base_url(url or f"http://localhost:{os.environ.get('PORT', '8000')}")
        script = parse_keys(keys)
        if lang is not None:
            script.insert(0, language_key(hotline.menu, lang))
        rings_before = _rings_so_far(hotline) if answer_operator else 0
        names = prompt_names(hotline.catalog.prompts.values())
        trial = TrialCall(base, hotline.settings.public_base_url,
                          hotline.settings.twilio_auth_token, WITHHELD if withheld else caller,
                          names)
        click.echo(f"Calling {base} from {WITHHELD if withheld else mask(caller)}")
        listened = Listened(hotline.settings.prompts_dir)
        for step in [trial.dial(), *trial.play(script)]:
            _show(hotline, step, listened)
        missed = _operator_answers(hotline, trial, rings_before, listened) \
            if answer_operator else None
        _show(hotline, trial.end(), listened)
    except (TrialCallError, CallFailed) as error:
        fail(str(error))
    click.echo(listened.total(trial.phone.timeouts_waited))
    _close_what_the_call_left(hotline, trial.phone, keep)
    if missed:
        fail(f"--operator: {missed}")


class Listened:
    """How long the caller and the operator listened, each prompt in full (as issue 12's
    goals count it): each recording its WAV's length under PROMPTS_DIR, a <Say> at 14
    characters a second."""

    def __init__(self, prompts_dir: Path) -> None:
        self.prompts_dir = prompts_dir
        self.seconds = {"caller": 0.0, "operator": 0.0}
        self.problem: str | None = None

    def add(self, step: Step) -> str:
        try:
            seconds = seconds_heard(step.heard, self.prompts_dir)
        except NotTimed as error:
            self.problem = str(error)
            return f"? ({error})"
        self.seconds[step.who] += seconds
        return f"{seconds:.1f} s"

    def total(self, timeouts: int) -> str:
        operator = self.seconds["operator"]
        heard = (f"Prompts heard, each in full: {self.seconds['caller']:.1f} s by the caller"
                 + (f", {operator:.1f} s by the operator" if operator else "")
                 + f"; timeouts waited: {timeouts} s")
        return heard + (f" (not counted: {self.problem})" if self.problem else "")


def _show(hotline: Hotline, step: Step, listened: Listened) -> None:
    operator = step.who == "operator"
    click.echo(f"> {step.action}")
    for hop in step.hops:
        click.echo(f"    {hop}")
    for heard in step.heard:
        click.echo(f"    {'operator hears' if operator else 'hears'} {describe(hotline, heard)}")
    if step.heard:
        click.echo(f"    {'operator: ' if operator else ''}prompts: {listened.add(step)}")


def _rings_so_far(hotline: Hotline) -> int:
    if hotline.settings.production:
        raise TrialCallError("--operator would pick up a ring the app placed to a real "
                             "operator's phone: not on a production hotline")
    ring_id = ringing.last_ring_id(db.session())
    db.session.commit()  # a transaction left open would not see the rings the call makes
    return ring_id


def _operator_answers(hotline: Hotline, trial: TrialCall, rings_before: int,
                      listened: Listened) -> str | None:
    """Pick up the ring the app placed for the caller; or why there is none to pick up."""
    if trial.phone.queued is None:
        return "the caller is not waiting in a queue, so no operator was rung for them"
    rings = _rings_placed(rings_before)
    live = [ring for ring in rings if ring.status == "ringing" and ring.call_sid]
    if not live:
        return _why_no_ring(hotline, rings)
    ring = live[0]
    number = hotline.vault.decrypt(ring.operator_number)
    click.echo(f"(the app rang {ring.operator_login}, {mask(number)}: ring {ring.id}, "
               f"{ring.language}, Twilio's call {ring.call_sid})")
    hotline_number = hotline.settings.hotline_number or FICTIONAL_CALLER
    for step in trial.operator_answers(OperatorRing(ring.id, str(ring.call_sid), number),
                                       hotline_number, waiting.ACCEPT_KEY):
        _show(hotline, step, listened)
    return None


def _rings_placed(rings_before: int) -> list[ringing.PlacedRing]:
    """The rings placed since the call began, once Twilio took or refused them. The app rings
    after it has answered the wait music's webhook, so they may take a moment to appear."""
    started = time.monotonic()
    while True:
        rings = ringing.rings_after(db.session(), rings_before)
        db.session.commit()  # the next look must see what the app wrote since
        waited = time.monotonic() - started
        placing = any(ring.status == "ringing" and not ring.call_sid for ring in rings)
        if (rings and not placing) or waited > RING_PLACING_SECONDS \
                or (not rings and waited > FIRST_RING_SECONDS):
            return rings
        time.sleep(0.1)


def _why_no_ring(hotline: Hotline, rings: list[ringing.PlacedRing]) -> str:
    if hotline.settings.hotline_number is None:
        return "HOTLINE_NUMBER is not set, so the app rings nobody"
    if not rings:
        return ("the app rang nobody: no operator of the language is on duty and free "
                "(ivr operators list)")
    # An operator rung at the caller's joining and again at the wait music is named once.
    ended = ", ".join(dict.fromkeys(f"{ring.operator_login} ({_state(ring)})" for ring in rings))
    return (f"no ring left to pick up: {ended}; a ring fails at once when Twilio refuses it or "
            "cannot be reached, as it always does without a Twilio account behind the app "
            "(the app's log says why)")


def _state(ring: ringing.PlacedRing) -> str:
    if ring.status == "ringing":
        return "Twilio had not taken it yet"
    return ring.outcome or ring.status


def _close_what_the_call_left(hotline: Hotline, phone: Phone, keep: bool) -> None:
    """A trial's request must not wait in the operators' queue: close what the call made.
    A request it only renewed was someone's before the call, and stays open."""
    saved = saved_reference(phone.heard)
    try:
        requests = store.made_or_renewed_by(db.session.connection(), phone.call_sid)
        said = [_close_if_made(hotline, request, phone.call_sid, keep) for request in requests]
        db.session.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        told = f"; close request {saved[0]} with ivr callbacks close" if saved else ""
        fail(f"what the trial call left could not be closed: {explain(error)}{told}")
    for line in said:
        click.echo(line)
    if not requests:
        click.echo("The call left no callback request in this database." if saved is None else
                   f"The caller heard request {saved[0]} saved, but this command's database "
                   "does not hold it: close it where it is stored (ivr callbacks close).")


def _close_if_made(hotline: Hotline, request: CallbackRequest, call_sid: str,
                   keep: bool) -> str:
    if request.first_call_sid != call_sid:
        why = "it was open before this call, which renewed it"
    elif request.status != "open":
        why = f"it is {request.status} already"
    elif keep:
        why = "--keep"
    else:
        claims.close(db.session(), engineer(), request.id, hotline.clock.now(),
                     detail=f"closed: trial call {call_sid}")
        return (f"Request {request.reference}, made by this trial call, is closed (outcome "
                f"closed, in the audit log as {engineer().login}); --keep leaves it open.")
    return (f"Request {request.reference} is left as it is ({why}); "
            f"`ivr callbacks close {request.reference}` closes it.")


def describe(hotline: Hotline, heard: Heard) -> str:
    """What was heard, with the prompt's text when it is a recording we know."""
    if heard.kind != "play" or heard.lang is None or heard.prompt is None:
        return str(heard)
    try:
        text = hotline.catalog.get(heard.lang, heard.prompt).text
    except KeyError:
        return str(heard)
    return f"{heard}: {text}" if text else str(heard)
