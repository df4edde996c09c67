"""`ivr info`, `ivr twilio configure-number` and `ivr call simulate`: pointing a Twilio number
at the app, and trying it as a caller would."""

from __future__ import annotations

import os

import click
from flask.cli import with_appcontext

from ivr.cli.exits import fail
from ivr.phones import mask
from ivr.services import Hotline, current_hotline
from ivr.settings import DEV_TWILIO_AUTH_TOKEN
from ivr.twilio.number_wiring import WiringError, configure_number
from ivr.twilio.phone_simulator import CallFailed, Heard
from ivr.twilio.rest_api import TwilioApiError
from ivr.twilio.trial_call import (
    FICTIONAL_CALLER,
    WITHHELD,
    TrialCallError,
    check_base_url,
    language_key,
    parse_keys,
    play,
)


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
    try:
        base = check_base_url(url or f"http://localhost:{os.environ.get('PORT', '8000')}")
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
