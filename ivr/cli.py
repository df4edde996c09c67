"""The `ivr` command: the Flask CLI of this app, plus what engineers do by hand."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
from cryptography.fernet import Fernet
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from ivr import prompts as prompt_files
from ivr import reloading, rendering
from ivr.callbacks.cli import callbacks, spool
from ivr.exits import fail
from ivr.hotline import current_hotline
from ivr.menu import Menu, load_menu
from ivr.operators.cli import operators, surge
from ivr.ops_cli import call, keys_rotate, purge, twilio
from ivr.settings import DEV_TWILIO_AUTH_TOKEN, StartupError, prompts_dir_from_environment


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
    for command in (info, operators, surge, callbacks, spool, twilio, call, purge):
        app.cli.add_command(command)


@click.group(help="Check and make the recorded prompts.")
def prompts() -> None:
    pass


@prompts.command("check", help="List prompts without a text and recordings missing, empty, "
                 "not audio or older than their text; exit 1 if there is any.")
def prompts_check() -> None:
    root = _prompts_dir()
    problems = prompt_files.check(_load_menu(root), root)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        fail(f"{len(problems)} prompt problem(s) in {root}")
    click.echo(f"every prompt has a text and a good recording in {root}")


@prompts.command("reload", help="Check the menu and the prompts, then have the running "
                 "service load them (each process within a few seconds), without a restart.")
def prompts_reload() -> None:
    root = _prompts_dir()
    try:
        menu, _catalog = reloading.load(root)
    except StartupError as error:
        fail(f"{error} (the running service keeps the menu it has)")
    for problem in prompt_files.check(menu, root):
        click.echo(str(problem))
    try:
        reloading.request_reload(root)
    except OSError as error:
        fail(f"cannot write {root / reloading.RELOAD_MARKER} ({error.strerror}); the service "
              "still picks up changed files by their modification time")
    click.echo(f"the menu and prompts in {root} are good; running processes load them within "
               f"{reloading.CHECK_EVERY:g} seconds")


@prompts.command("render", help="Make recordings from the texts with espeak-ng and sox, "
                 "for prompts with no good recording or one made from an older text.")
@click.option("--lang", default=None, help="Only this language.")
@click.option("--force", is_flag=True, help="Remake every recording, hand-made ones too.")
def prompts_render(lang: str | None, force: bool) -> None:
    root = _prompts_dir()
    menu = _load_menu(root)
    try:
        made = rendering.render(menu, root, rendering.languages_to_render(menu, lang), force,
                                click.echo)
    except StartupError as error:
        fail(str(error))
    click.echo(f"{made} recording(s) made")


def _prompts_dir() -> Path:
    try:
        return prompts_dir_from_environment()
    except StartupError as error:
        fail(str(error))


def _load_menu(root: Path) -> Menu:
    try:
        return load_menu(root / "menu.yaml")
    except StartupError as error:
        fail(str(error))


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


@click.group(help="Make keys for the settings, and rotate the phone encryption key.")
def keys() -> None:
    pass


keys.add_command(keys_rotate)


@keys.command("new", help="Print a new PHONE_ENCRYPTION_KEYS key, PHONE_HASH_KEY and SECRET_KEY.")
def keys_new() -> None:
    click.echo(f"PHONE_ENCRYPTION_KEYS={Fernet.generate_key().decode()}")
    click.echo(f"PHONE_HASH_KEY={secrets.token_urlsafe(48)}")
    click.echo(f"SECRET_KEY={secrets.token_urlsafe(48)}")
