"""The `ivr` command: the Flask CLI of this app, plus what engineers do by hand. A module
per group of commands; each fails with one line (exits.fail), and every command the app
carries is guarded (exits.guarded) so that a database or key problem is one line too."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from ivr.cli.audit import audit
from ivr.cli.callback_requests import callback_requests, spool
from ivr.cli.exits import fail, guarded
from ivr.cli.keys import keys
from ivr.cli.operators import operators, surge
from ivr.cli.periodic import periodic
from ivr.cli.prompts import prompts
from ivr.cli.purge import purge
from ivr.cli.recordings import recordings
from ivr.cli.telegram import telegram
from ivr.cli.twilio import call, info, twilio
from ivr.database import migrations_applied
from ivr.services import current_hotline
from ivr.settings import StartupError


def main() -> None:
    make_cli().main(prog_name="ivr")


def make_cli() -> FlaskGroup:
    cli = FlaskGroup(create_app=_create_app, add_version_option=False,
                     help="Run and look after the hotline IVR.")
    # These work without the app, so they help most when it cannot start.
    cli.add_command(guarded(keys))
    cli.add_command(guarded(prompts))
    return cli


def _create_app() -> Flask:
    from ivr import create_app

    try:
        return create_app()
    except StartupError as error:
        fail(str(error))


def register(app: Flask) -> None:
    for command in (info, operators, surge, callback_requests, spool, twilio, call, purge,
                    recordings, periodic, audit, telegram):
        app.cli.add_command(command)
    app.cli.commands["db"] = _migrations(app.cli.commands["db"])
    # Flask-Migrate's commands as well as ours: copies, so the shared ones stay as they are.
    for name, command in list(app.cli.commands.items()):
        app.cli.commands[name] = guarded(command)


def _migrations(group: click.Command) -> click.Command:
    """Flask-Migrate's `ivr db`, whose `current` says so when no migration is applied
    (Alembic then prints nothing, which reads like success)."""
    if not isinstance(group, click.Group) or "current" not in group.commands:
        return group
    copied = copy.copy(group)
    copied.commands = dict(group.commands)
    current = copy.copy(group.commands["current"])
    assert current.callback is not None
    current.callback = _unless_unmigrated(current.callback)
    copied.commands["current"] = current
    return copied


def _unless_unmigrated(callback: Callable[..., Any]) -> Callable[..., Any]:
    @with_appcontext
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        if not migrations_applied(current_hotline().engine):
            fail("the database has no migrations applied (run: ivr db upgrade)")
        return callback(*args, **kwargs)

    return run
