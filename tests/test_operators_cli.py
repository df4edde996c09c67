"""Engineers add operators, put them on duty and flip the surge switch from the command line."""

from __future__ import annotations

import getpass

import pytest
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


def test_the_surge_switch(app: Flask, runner: FlaskCliRunner, engineer: str) -> None:
    assert ivr(runner, "surge").output == "ru: off\nuk: off\nen: off\n"

    result = ivr(runner, "surge", "ru", "on")

    assert (result.exit_code, result.output) == (0, "surge for ru is on\n")
    assert ivr(runner, "surge").output == "ru: on\nuk: off\nen: off\n"
    with app.app_context():
        [switch] = db.session.scalars(sa.select(Surge))
    assert (switch.language, switch.active, switch.changed_by) == ("ru", True, engineer)
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
    assert changes == ["added olena", "disabled olena", "enabled olena"]


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


def audit_log(app: Flask) -> list[tuple[str, str, str | None]]:
    with app.app_context():
        return [(entry.login, entry.action, entry.detail) for entry in db.session.scalars(
            sa.select(AuditEntry).order_by(AuditEntry.id))]


def test_every_change_alice_makes_at_the_command_line_is_audited_under_her_user(
        app: Flask, runner: FlaskCliRunner, engineer: str) -> None:
    steps = [
        ("operators", "add", "olena", "--name", "Olena K", "--phone", "+380 50 123 45 67",
         "--languages", "uk,ru"),
        ("operators", "duty", "olena", "on"), ("operators", "languages", "olena", "ru,en"),
        ("operators", "disable", "olena"), ("operators", "enable", "olena"),
        ("operators", "password", "olena"), ("operators", "reset-2fa", "olena"),
        ("surge", "uk", "on"),
    ]
    for step in steps:
        result = ivr(runner, *step, stdin=PASSWORD + "\n")
        assert result.exit_code == 0, (step, result.output)

    assert audit_log(app) == [
        ("cli:alice", "account", "added olena"), ("cli:alice", "duty", "olena on"),
        ("cli:alice", "languages", "olena ru,en (was uk,ru)"),
        ("cli:alice", "account", "disabled olena"), ("cli:alice", "account", "enabled olena"),
        ("cli:alice", "account", "reset the password of olena"),
        ("cli:alice", "second_factor", "reset for olena"), ("cli:alice", "surge", "uk on")]
    verified = ivr(runner, "audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert "Chain intact: 8 entries checked" in verified.output


def test_a_refused_change_writes_nothing_to_the_audit_log(
        app: Flask, runner: FlaskCliRunner, engineer: str) -> None:
    add_olena(runner)

    for step in (("operators", "duty", "nobody", "on"), ("operators", "disable", "nobody"),
                 ("operators", "languages", "olena", "ru,de"), ("surge", "de", "on")):
        assert ivr(runner, *step).exit_code == 1

    assert audit_log(app) == [("cli:alice", "account", "added olena")]


def test_under_sudo_the_engineer_who_ran_it_is_named(
        app: Flask, runner: FlaskCliRunner, engineer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", "ivr")
    monkeypatch.setenv("LOGNAME", "ivr")
    monkeypatch.setenv("SUDO_USER", "bohdan")

    ivr(runner, "surge", "ru", "on")

    assert audit_log(app) == [("cli:bohdan", "surge", "ru on")]


def test_a_system_user_that_cannot_be_known_is_written_as_unknown(
        app: Flask, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    def nobody_knows() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.setattr(getpass, "getuser", nobody_knows)

    ivr(runner, "surge", "ru", "on")
    monkeypatch.setenv("SUDO_USER", " ;/\t")  # nothing of it can name anyone
    ivr(runner, "surge", "ru", "off")

    assert audit_log(app) == [("cli:unknown", "surge", "ru on"),
                              ("cli:unknown", "surge", "ru off")]


def test_an_engineer_changes_the_languages_an_operator_takes(
        app: Flask, runner: FlaskCliRunner, engineer: str) -> None:
    add_olena(runner)

    result = ivr(runner, "operators", "languages", "olena", "ru, en,,ru")

    assert (result.exit_code, result.output) == (0, "olena takes ru,en now\n")
    assert operators(app)[0].language_codes == ("ru", "en")
    unknown = ivr(runner, "operators", "languages", "olena", "ru,de")
    assert (unknown.exit_code, unknown.output) == (
        1, "ivr: languages: one or more of ru, uk, en (not de)\n")
    none = ivr(runner, "operators", "languages", "olena", ",")
    assert (none.exit_code, none.output) == (1, "ivr: languages: one or more of ru, uk, en\n")
    nobody = ivr(runner, "operators", "languages", "nobody", "ru")
    assert (nobody.exit_code, nobody.output) == (1, "ivr: no operator with login 'nobody'\n")
    assert operators(app)[0].language_codes == ("ru", "en")
