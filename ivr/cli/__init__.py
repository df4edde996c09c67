"""The `ivr` command: the Flask CLI of this app, plus what engineers do by hand. A module
per group of commands; each fails with one line (exits.fail)."""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup

from ivr.cli.callback_requests import callback_requests, spool
from ivr.cli.exits import fail
from ivr.cli.keys import keys
from ivr.cli.operators import operators, surge
from ivr.cli.prompts import prompts
from ivr.cli.purge import purge
from ivr.cli.twilio import call, info, twilio
from ivr.settings import StartupError


def main() -> None:
    make_cli().main(prog_name="ivr")


def make_cli() -> FlaskGroup:
    cli = FlaskGroup(create_app=_create_app, add_version_option=False,
                     help="Run and look after the hotline IVR.")
    # These work without the app, so they help most when it cannot start.
    cli.add_command(keys)
    cli.add_command(prompts)
    return cli


def _create_app() -> Flask:
    from ivr import create_app

    try:
        return create_app()
    except StartupError as error:
        fail(str(error))


def register(app: Flask) -> None:
    for command in (info, operators, surge, callback_requests, spool, twilio, call, purge):
        app.cli.add_command(command)
