"""Commands for running the hotline in production: wiring the number, trying a call,
purging old data and rotating the phone keys."""

from __future__ import annotations

import os

import click
from flask.cli import with_appcontext

from ivr import key_rotation, retention
from ivr.exits import fail
from ivr.hotline import Hotline, current_hotline
from ivr.phones import mask
from ivr.simulator import CallFailed, Heard
from ivr.trial_call import (
    FICTIONAL_CALLER,
    WITHHELD,
    TrialCallError,
    language_key,
    parse_keys,
    play,
)
from ivr.twilio_api import TwilioApiError
from ivr.wiring import WiringError, configure_number


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


@click.group(help="Try the hotline as a caller would.")
def call() -> None:
    pass


@call.command("simulate", help="Play a scripted call against the running app with signed "
              "requests, and print what the caller hears and each webhook's latency.")
@click.option("--press", "keys", default="", metavar="KEYS",
              help="Keys to press in turn, comma-separated: 1,2,1.")
@click.option("--url", default=None, help="The app's base URL [default: http://localhost:$PORT].")
@click.option("--lang", default=None, help="Choose this language (ru, uk, en) at the language "
              "menu first; --press then starts at the main menu.")
@click.option("--from", "caller", default=FICTIONAL_CALLER, show_default=True,
              help="The caller ID the call comes from.")
@click.option("--withheld", is_flag=True, help="Call with the caller ID withheld.")
@with_appcontext
def call_simulate(keys: str, url: str | None, lang: str | None, caller: str,
                  withheld: bool) -> None:
    hotline = current_hotline()
    base = url or f"http://localhost:{os.environ.get('PORT', '8000')}"
    try:
        script = parse_keys(keys)
        if lang is not None:
            script.insert(0, language_key(hotline.menu, lang))
        caller_id = WITHHELD if withheld else caller
        click.echo(f"Calling {base} from {WITHHELD if withheld else mask(caller)}")
        for step in play(base, hotline.settings.public_base_url,
                         hotline.settings.twilio_auth_token, script, caller_id):
            click.echo(f"> {step.action}")
            for hop in step.hops:
                click.echo(f"    {hop}")
            for heard in step.heard:
                click.echo(f"    hears {describe(hotline, heard)}")
    except (TrialCallError, CallFailed) as error:
        fail(str(error))


def describe(hotline: Hotline, heard: Heard) -> str:
    """What was heard, with the prompt's text when it is a recording we know."""
    if heard.kind != "play" or heard.lang is None or heard.prompt is None:
        return str(heard)
    try:
        text = hotline.catalog.get(heard.lang, heard.prompt).text
    except KeyError:
        return str(heard)
    return f"{heard}: {text}" if text else str(heard)


@click.command(help="Delete closed callback requests, calls, call events, recordings (at Twilio "
               "too) and Twilio alerts older than the retention period. Open requests stay.")
@click.option("--older-than", "period", default=None, metavar="PERIOD",
              help="90d, 12h or 2w [default: RETENTION_DAYS days].")
@with_appcontext
def purge(period: str | None) -> None:
    hotline = current_hotline()
    try:
        age = (retention.parse_period(period) if period is not None
               else retention.parse_period(f"{hotline.settings.retention_days}d"))
    except retention.PeriodError as error:
        fail(str(error))
    cutoff = hotline.clock.now() - age
    purged = retention.purge(hotline.engine, hotline.twilio, cutoff)
    click.echo(f"removed what is older than {cutoff:%Y-%m-%d %H:%M} UTC:")
    click.echo(f"  closed callback requests: {purged.requests} (open ones are never removed)")
    click.echo(f"  recordings deleted at Twilio: {purged.recordings}"
               f" (already gone there: {purged.recordings_gone_already})")
    click.echo(f"  calls: {purged.calls}, call events: {purged.events}")
    click.echo(f"  Twilio alerts: {purged.alerts}")
    if purged.failures:
        for failure in purged.failures:
            click.echo(f"  kept, Twilio did not delete it: {failure}", err=True)
        fail(f"{len(purged.failures)} recording(s) could not be deleted at Twilio; they and "
             "their requests are kept for the next run")


@click.command("rotate", help="Re-encrypt every stored phone number under the first key of "
               "PHONE_ENCRYPTION_KEYS, in batches; safe to stop and run again.")
@with_appcontext
def keys_rotate() -> None:
    hotline = current_hotline()
    keys = hotline.settings.phone_encryption_keys
    results = key_rotation.rotate_all(hotline.engine, keys, lambda done: click.echo(str(done)))
    unreadable = sum(done.unreadable for done in results)
    if unreadable:
        fail(f"{unreadable} number(s) are under none of the keys in PHONE_ENCRYPTION_KEYS: "
             "put back the key that was removed, and run this again")
    rewritten = sum(done.rewritten for done in results)
    click.echo(f"done: {rewritten} number(s) re-encrypted; every number is under the first key")
    if len(keys) > 1:
        click.echo("The other keys can leave PHONE_ENCRYPTION_KEYS once every instance's spool "
                   "is empty (ivr spool status) and the calls in progress have ended.")
