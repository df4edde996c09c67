"""Engineers add operators, put them on duty and flip the surge switch from the command line."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner

from ivr.database import db
from ivr.models import AuditEntry, Operator, Surge
from tests.support import hotline_of

PASSWORD = "correct horse battery staple"


def ivr(runner: FlaskCliRunner, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(args=list(args), input=stdin)


def add_olena(runner: FlaskCliRunner, *extra: str) -> Result:
    return ivr(runner, "operators", "add", "olena", "--name", "Olena K", "--phone",
               "+380 50 123 45 67", "--languages", "uk,ru", *extra, stdin=PASSWORD + "\n")


def operators(app: Flask) -> list[Operator]:
    with app.app_context():
        return list(db.session.scalars(sa.select(Operator)))


def test_an_engineer_adds_an_operator_with_the_password_on_standard_input(
        app: Flask, runner: FlaskCliRunner) -> None:
    result = add_olena(runner)

    assert result.exit_code == 0, result.output
    assert result.output == "added operator olena (uk,ru), off duty\n"
    [olena] = operators(app)
    assert (olena.name, olena.role, olena.language_codes, olena.on_duty) == (
        "Olena K", "operator", ("uk", "ru"), False)
    assert hotline_of(app).vault.decrypt(olena.phone_number) == "+380501234567"
    assert PASSWORD not in olena.password_hash


def test_a_supervisor_can_be_added(app: Flask, runner: FlaskCliRunner) -> None:
    result = add_olena(runner, "--role", "supervisor")

    assert result.exit_code == 0
    assert operators(app)[0].role == "supervisor"


def test_a_login_is_not_taken_twice(app: Flask, runner: FlaskCliRunner) -> None:
    add_olena(runner)

    result = add_olena(runner)

    assert result.exit_code == 1
    assert "login 'olena' is taken" in result.output
    assert len(operators(app)) == 1


def test_bad_details_are_refused_in_one_line(app: Flask, runner: FlaskCliRunner) -> None:
    cases = [
        (["--phone", "12345"], "phone: not a valid international number"),
        (["--languages", "uk,de"], "languages: one or more of ru, uk, en (not de)"),
        (["--name", "  "], "name: give 1 to 120 characters"),
    ]
    for change, problem in cases:
        args = {"--name": "Olena K", "--phone": "+380501234567", "--languages": "uk"}
        args[change[0]] = change[1]
        result = ivr(runner, "operators", "add", "olena", *[item for pair in args.items()
                                                            for item in pair],
                     stdin=PASSWORD + "\n")
        assert result.exit_code == 1
        assert problem in result.output
    short = ivr(runner, "operators", "add", "olena", "--name", "O", "--phone", "+380501234567",
                "--languages", "uk", stdin="short\n")
    assert "password: at least 12 characters" in short.output
    assert operators(app) == []


def test_duty_on_and_off(app: Flask, runner: FlaskCliRunner) -> None:
    add_olena(runner)

    on = ivr(runner, "operators", "duty", "olena", "on")
    assert (on.exit_code, on.output) == (0, "olena is on duty\n")
    assert operators(app)[0].on_duty is True
    off = ivr(runner, "operators", "duty", "olena", "off")
    assert operators(app)[0].on_duty is False
    assert off.output == "olena is off duty\n"
    nobody = ivr(runner, "operators", "duty", "nobody", "on")
    assert nobody.exit_code == 1
    assert "no operator with login 'nobody'" in nobody.output


def test_the_list_masks_phone_numbers(runner: FlaskCliRunner) -> None:
    add_olena(runner)
    ivr(runner, "operators", "duty", "olena", "on")

    result = ivr(runner, "operators", "list")

    assert result.exit_code == 0
    assert "olena" in result.output and "+3805••••••67" in result.output
    assert "380501234567" not in result.output


def test_the_surge_switch(app: Flask, runner: FlaskCliRunner) -> None:
    assert ivr(runner, "surge").output == "ru: off\nuk: off\nen: off\n"

    result = ivr(runner, "surge", "ru", "on")

    assert (result.exit_code, result.output) == (0, "surge for ru is on\n")
    assert ivr(runner, "surge").output == "ru: on\nuk: off\nen: off\n"
    with app.app_context():
        [switch] = db.session.scalars(sa.select(Surge))
    assert (switch.language, switch.active, switch.changed_by) == ("ru", True, "cli")
    assert ivr(runner, "surge", "de", "on").exit_code == 1


def test_an_engineer_disables_an_account_and_enables_it_again(
        app: Flask, runner: FlaskCliRunner) -> None:
    add_olena(runner)
    ivr(runner, "operators", "duty", "olena", "on")

    disabled = ivr(runner, "operators", "disable", "olena")

    assert (disabled.exit_code, disabled.output) == (0, "olena is disabled\n")
    [olena] = operators(app)
    assert (olena.active, olena.on_duty) == (False, False)
    assert ivr(runner, "operators", "duty", "olena", "on").exit_code == 1
    enabled = ivr(runner, "operators", "enable", "olena")
    assert (enabled.exit_code, enabled.output) == (0, "olena is enabled, off duty\n")
    assert operators(app)[0].active is True
    with app.app_context():
        changes = db.session.scalars(sa.select(AuditEntry.detail).where(
            AuditEntry.action == "account")).all()
    assert changes == ["disabled olena", "enabled olena"]


def test_an_engineer_resets_a_password_from_standard_input(
        app: Flask, runner: FlaskCliRunner) -> None:
    add_olena(runner)
    before = operators(app)[0].password_hash

    result = ivr(runner, "operators", "password", "olena", stdin="a brand new long password\n")

    assert result.exit_code == 0, result.output
    assert "signed out everywhere" in result.output
    assert operators(app)[0].password_hash != before
    short = ivr(runner, "operators", "password", "olena", stdin="short\n")
    assert (short.exit_code, short.output) == (1, "ivr: password: at least 12 characters\n")
    nobody = ivr(runner, "operators", "disable", "nobody")
    assert (nobody.exit_code, nobody.output) == (1, "ivr: no operator with login 'nobody'\n")
