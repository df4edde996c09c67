"""`ivr recordings fetch`: callers' messages copied to us, then deleted at Twilio."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ivr.callback_requests import recordings as messages
from ivr.cli.exits import fail
from ivr.services import current_hotline


@click.group(help="Callers' recorded messages: our encrypted copies, and Twilio's.")
def recordings() -> None:
    pass


@recordings.command("fetch", help="Copy every completed message still at Twilio to the "
                    "database (encrypted), then delete it at Twilio; what fails stays at "
                    "Twilio for the next run.")
@with_appcontext
def recordings_fetch() -> None:
    try:
        fetched = messages.fetch_recordings(current_hotline())
    except messages.CredentialsRefused as error:
        fail(str(error))
    click.echo(f"recordings: {fetched}")
    for failure in fetched.failures:
        click.echo(f"  tried again next run: {failure}", err=True)
