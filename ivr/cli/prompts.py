"""`ivr prompts check|reload|render`: the recorded prompts. They work without the app, so
they help most when a broken menu or prompt file keeps it from starting."""

from __future__ import annotations

from pathlib import Path

import click

from ivr.cli.exits import fail
from ivr.menu import prompts as prompt_files
from ivr.menu import reloading, synthesis
from ivr.menu.menu_file import Menu, load_menu
from ivr.settings import (
    StartupError,
    prompts_dir_from_environment,
    spool_dir_from_environment,
)


@click.group(help="Check and make the recorded prompts.")
def prompts() -> None:
    pass


@prompts.command("check", help="List prompts without a text and recordings missing, empty, "
                 "not audio or older than their text; exit 1 if there is any. Warn about "
                 "recordings made by `ivr prompts render`.")
def prompts_check() -> None:
    root = _prompts_dir()
    menu = _load_menu(root)
    problems = prompt_files.check(menu, root)
    for problem in problems:
        click.echo(str(problem))
    # Machine-made speech works, but a person's voice is kinder to a caller in trouble.
    for lang, count in prompt_files.placeholders(menu, root).items():
        click.echo(f"warning: {lang}: {count} recording(s) are placeholders made by "
                   "`ivr prompts render`; record them with a person's voice")
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
    runtime = spool_dir_from_environment()
    marker, fallback = reloading.markers(root, runtime)
    try:
        written = reloading.request_reload(root, runtime)
    except OSError as error:
        fail(f"cannot write {marker} ({error.strerror}) nor {fallback}; the service still "
             "picks up changed files by their modification time")
    if written != marker:
        click.echo(f"SPOOL_DIR={runtime} cannot be written: the marker is {written}", err=True)
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
        made = synthesis.render(menu, root, synthesis.languages_to_render(menu, lang), force,
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
