"""`ivr operators ...` and `ivr surge ...`: the desk, by hand."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime

import click
from flask.cli import AppGroup, with_appcontext

from ivr.cli.engineer import engineer
from ivr.cli.exits import fail
from ivr.database import db
from ivr.operators import accounts, availability, second_factor
from ivr.operators.accounts import AccountError
from ivr.phones import mask
from ivr.services import current_hotline


@click.group(cls=AppGroup, help="Add operators and supervisors, put them on duty, list them. "
             "Every change is written to the audit log as cli:<your system user>.")
def operators() -> None:
    pass


@operators.command("add", help="Add an operator. The password is read from standard input "
                   "when it is not a terminal, else asked for twice.")
@click.argument("login")
@click.option("--name", required=True, help="The name the team knows them by.")
@click.option("--phone", required=True, help="Their phone, in international form: +380...")
@click.option("--languages", required=True, help="Languages they take, such as ru,uk.")
@click.option("--role", type=click.Choice(accounts.ROLES), default="operator",
              show_default=True)
def add(login: str, name: str, phone: str, languages: str, role: str) -> None:
    password = _read_password()
    hotline = current_hotline()
    try:
        operator = accounts.add_audited(
            db.session(), hotline.vault, engineer(), _now(), login=login, name=name,
            phone=phone, languages=languages.split(","), known_languages=hotline.menu.languages,
            role=role, password=password)
        db.session.commit()
    except AccountError as error:
        db.session.rollback()
        fail(str(error))
    click.echo(f"added {operator.role} {operator.login} ({operator.languages}), off duty")


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@operators.command("duty", help="Put an operator on duty (on) or take them off it (off).")
@click.argument("login")
@click.argument("state", type=click.Choice(["on", "off"]))
def duty(login: str, state: str) -> None:
    try:
        operator = accounts.switch_duty(db.session(), engineer(), _now(), login, state == "on")
        db.session.commit()
    except AccountError as error:
        db.session.rollback()
        fail(str(error))
    click.echo(f"{operator.login} is {'on' if operator.on_duty else 'off'} duty")


@operators.command("disable", help="Disable an account: it can no longer sign in or be rung, "
                   "and its sessions end.")
@click.argument("login")
def disable(login: str) -> None:
    _change_account(lambda: accounts.switch_active(db.session(), engineer(), _now(), login,
                                                   False), f"{login} is disabled")


@operators.command("enable", help="Enable a disabled account again (off duty).")
@click.argument("login")
def enable(login: str) -> None:
    _change_account(lambda: accounts.switch_active(db.session(), engineer(), _now(), login,
                                                   True), f"{login} is enabled, off duty")


@operators.command("password", help="Set a new password (read from standard input when it "
                   "is not a terminal, else asked for twice); the person's sessions end.")
@click.argument("login")
def password(login: str) -> None:
    new = _read_password()
    _change_account(lambda: accounts.reset_password(db.session(), engineer(), _now(), login,
                                                    new),
                    f"{login}'s password is changed; they are signed out everywhere")


@operators.command("reset-2fa", help="Forget an operator's second factor: they set up a "
                   "new one when they next sign in. Their sessions end.")
@click.argument("login")
def reset_2fa(login: str) -> None:
    _change_account(lambda: second_factor.reset(db.session(), engineer(), _now(),
                                                accounts.find(db.session(), login)),
                    f"{login}'s second factor is reset; they are signed out everywhere and "
                    "set up a new one when they next sign in")


@operators.command("languages", help="Set the languages an operator takes, such as ru,uk "
                   "(one or more of the menu's); their claims on requests in a language they "
                   "no longer take go back to the queue.")
@click.argument("login")
@click.argument("languages")
def languages(login: str, languages: str) -> None:
    try:
        operator = accounts.change_languages(db.session(), engineer(), _now(), login,
                                             languages.split(","),
                                             current_hotline().menu.languages)
        db.session.commit()
    except AccountError as error:
        db.session.rollback()
        fail(str(error))
    click.echo(f"{operator.login} takes {operator.languages} now")


def _change_account(change: Callable[[], object], done: str) -> None:
    """Change an account as a supervisor would on the page (written to the audit log)."""
    try:
        change()
        db.session.commit()
    except AccountError as error:
        db.session.rollback()
        fail(str(error))
    click.echo(done)


def _now() -> datetime:
    return datetime.now(UTC)


@operators.command("list", help="Every operator, with their number masked.")
def list_operators() -> None:
    vault = current_hotline().vault
    rows = accounts.all_operators(db.session())
    if not rows:
        click.echo("no operators yet: ivr operators add LOGIN ...")
        return
    # Every number is decrypted before anything is printed: a key problem is one line.
    phones = [mask(vault.decrypt(operator.phone_number)) for operator in rows]
    click.echo(f"{'login':<16} {'name':<24} {'role':<10} {'languages':<10} {'phone':<16} duty")
    for operator, phone in zip(rows, phones, strict=True):
        state = ("on" if operator.on_duty else "off") if operator.active else "disabled"
        click.echo(f"{operator.login:<16} {operator.name[:24]:<24} {operator.role:<10} "
                   f"{operator.languages:<10} {phone:<16} {state}")


@click.command(help="Turn a language's surge switch on or off: while on, its callers go "
               "straight to the callback request. With no arguments, show the switches.")
@click.argument("language", required=False)
@click.argument("state", type=click.Choice(["on", "off"]), required=False)
@with_appcontext
def surge(language: str | None, state: str | None) -> None:
    menu = current_hotline().menu
    if language is None:
        switches = availability.surges(db.session())
        for code in menu.languages:
            click.echo(f"{code}: {'on' if switches.get(code) else 'off'}")
        return
    if language not in menu.languages:
        fail(f"{language}: not one of {', '.join(menu.languages)}")
    if state is None:
        fail("say on or off: ivr surge LANGUAGE on|off")
    availability.switch_surge(db.session(), engineer(), _now(), language, state == "on")
    db.session.commit()
    click.echo(f"surge for {language} is {state}")
