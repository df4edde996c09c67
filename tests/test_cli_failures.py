"""An engineer whose database or keys are wrong gets one line from every `ivr` command that
needs them: what is wrong and what to run or set. Never a traceback, never the database's
password, never a caller's number."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskCliRunner

from ivr.cli import make_cli
from ivr.settings import PROJECT_ROOT
from tests.support import settings_for
from tests.test_callback_requests import Dial, answer_the_questions, to_callback_request

PASSWORD = "s3cr3t-db-pw"
OLENA = "+380501234567"
CALLER = "+380671112233"

# The commands that read or write the database, with the arguments they need.
NEEDS_THE_DATABASE = {
    "operators list": ["operators", "list"],
    "operators duty": ["operators", "duty", "olena", "on"],
    "surge": ["surge"],
    "callbacks list": ["callbacks", "list"],
    "purge": ["purge"],
    "twilio purge-calls": ["twilio", "purge-calls"],
    "keys rotate": ["keys", "rotate"],
    "db current": ["db", "current"],
}
# db upgrade makes the tables, so it fails only where the database cannot be reached at all.
CANNOT_REACH = {**NEEDS_THE_DATABASE, "db upgrade": ["db", "upgrade"],
                "db downgrade": ["db", "downgrade"]}
# These need no database: they must go on working while it is away.
NEED_NO_DATABASE = {
    "info": ["info"],
    "spool status": ["spool", "status"],
    "spool replay": ["spool", "replay"],
    "routes": ["routes"],
}
EVERY_APP_COMMAND = {**CANNOT_REACH, **NEED_NO_DATABASE}


def ivr(settings: dict[str, str], args: list[str], stdin: str | None = None) -> Result:
    """The `ivr` command itself (the FlaskGroup `ivr` runs), with these settings."""
    return CliRunner().invoke(make_cli(), args, env=settings, input=stdin)


def settings(tmp_path: Path, database_url: str, **more: str) -> dict[str, str]:
    return settings_for(database_url, SPOOL_DIR=str(tmp_path / "spool"), **more)


def one_clear_line(result: Result, *secrets: str) -> str:
    """The single line the command failed with (asserting that it did, and how)."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("ivr: ")
    for text in (result.output, result.stderr):
        assert "Traceback" not in text
        for secret in (PASSWORD, OLENA, CALLER, OLENA[1:], CALLER[1:], *secrets):
            assert secret not in text
    return lines[0]


def a_closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def unreachable_postgresql() -> str:
    return f"postgresql://ivr:{PASSWORD}@127.0.0.1:{a_closed_port()}/hotline"


def commands(table: dict[str, list[str]]) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("args", list(table.values()), ids=list(table))


@commands(CANNOT_REACH)
def test_a_database_whose_folder_is_missing_is_named_in_one_line(
        tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "gone" / "ivr.sqlite3"

    line = one_clear_line(ivr(settings(tmp_path, f"sqlite:///{missing}"), args))

    assert line == (f"ivr: cannot open the database file {missing} (DATABASE_URL): "
                    f"the folder {missing.parent} does not exist")
    assert not missing.parent.exists()


@commands(NEEDS_THE_DATABASE)
def test_a_database_without_tables_says_to_run_db_upgrade(tmp_path: Path,
                                                          args: list[str]) -> None:
    empty = tmp_path / "ivr.sqlite3"  # absent: SQLite makes it, empty

    line = one_clear_line(ivr(settings(tmp_path, f"sqlite:///{empty}"), args))

    assert line.endswith("(run: ivr db upgrade)")
    if args != ["db", "current"]:
        assert line == (f"ivr: the database file {empty} (DATABASE_URL) has no tables yet "
                        "(run: ivr db upgrade)")


@commands(NEEDS_THE_DATABASE)
def test_on_postgresql_a_database_without_tables_says_to_run_db_upgrade(
        tmp_path: Path, postgres_url: str, args: list[str]) -> None:
    line = one_clear_line(ivr(settings(tmp_path, postgres_url), args))

    assert line.endswith("(run: ivr db upgrade)")


def test_a_database_behind_the_code_says_to_run_db_upgrade(tmp_path: Path) -> None:
    environment = settings(tmp_path, f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
    before_sign_out = "e3c0ca11e008"  # operators have no sessions_ended_at yet
    assert ivr(environment, ["db", "upgrade", before_sign_out]).exit_code == 0

    line = one_clear_line(ivr(environment, ["operators", "list"]))

    assert line == (f"ivr: the database file {tmp_path / 'ivr.sqlite3'} (DATABASE_URL) is older "
                    "than this version of the code (run: ivr db upgrade)")


def test_db_current_on_an_empty_database_says_no_migration_is_applied(tmp_path: Path) -> None:
    result = ivr(settings(tmp_path, f"sqlite:///{tmp_path / 'ivr.sqlite3'}"), ["db", "current"])

    assert one_clear_line(result) == (
        "ivr: the database has no migrations applied (run: ivr db upgrade)")
    assert result.stdout == ""


def test_db_current_on_a_migrated_database_prints_the_revision(tmp_path: Path) -> None:
    environment = settings(tmp_path, f"sqlite:///{tmp_path / 'ivr.sqlite3'}")
    assert ivr(environment, ["db", "upgrade"]).exit_code == 0

    # A process of its own: Alembic prints to the standard output it found when imported.
    result = subprocess.run(
        [sys.executable, "-c", "from ivr.cli import main; main()", "db", "current"],
        cwd=PROJECT_ROOT, env={"PATH": "/usr/bin:/bin", **environment}, capture_output=True,
        text=True, timeout=60, check=False)

    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.strip().endswith("(head)")


@commands(CANNOT_REACH)
def test_a_postgresql_server_that_is_down_is_named_without_the_password(
        tmp_path: Path, args: list[str]) -> None:
    url = unreachable_postgresql()
    port = url.rsplit(":", 1)[1].split("/")[0]

    line = one_clear_line(ivr(settings(tmp_path, url), args))

    assert line == (f"ivr: cannot connect to the database hotline on 127.0.0.1:{port} "
                    "(DATABASE_URL): Connection refused")


@commands(NEED_NO_DATABASE)
def test_what_needs_no_database_still_works_while_it_is_away(tmp_path: Path,
                                                           args: list[str]) -> None:
    result = ivr(settings(tmp_path, unreachable_postgresql()), args)

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert PASSWORD not in result.output


@pytest.mark.parametrize(("url", "problem"), [
    ("notaurl", "ivr: DATABASE_URL is not a database URL like "
                "postgresql://user:pass@host/db or sqlite:///path"),
    (f"postgresql//ivr:{PASSWORD}@db/hotline", "ivr: DATABASE_URL is not a database URL"),
    (f"mysql://ivr:{PASSWORD}@db/hotline", "ivr: DATABASE_URL: the mysql driver is not "
                                           "installed (No module named 'MySQLdb')"),
    (f"nosuchdb://ivr:{PASSWORD}@db/hotline", "ivr: DATABASE_URL names a database "
                                              "SQLAlchemy does not know"),
], ids=["not a URL", "no scheme", "driver missing", "unknown database"])
@commands(EVERY_APP_COMMAND)
def test_a_database_url_that_cannot_be_used_stops_every_command_in_one_line(
        tmp_path: Path, url: str, problem: str, args: list[str]) -> None:
    line = one_clear_line(ivr(settings(tmp_path, url), args))

    assert line.startswith(problem)


@pytest.fixture
def written_under_another_key(app: Flask, runner: FlaskCliRunner, phone: Dial,
                              tmp_path: Path) -> dict[str, str]:
    """Settings whose PHONE_ENCRYPTION_KEYS has none of the keys an operator's number and a
    callback request's number were written under."""
    added = runner.invoke(args=["operators", "add", "olena", "--name", "Olena K", "--phone",
                                OLENA, "--languages", "uk"],
                          input="correct horse battery staple\n")
    assert added.exit_code == 0, added.output
    call, _ = to_callback_request(phone, caller=CALLER)
    call.press("1")
    answer_the_questions(call)
    call.record(seconds=3)
    listed = runner.invoke(args=["callbacks", "list"])
    assert listed.exit_code == 0 and "+3806••••••33" in listed.output, listed.output
    return settings(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"],
                    PHONE_ENCRYPTION_KEYS=Fernet.generate_key().decode())


@commands({"operators list": ["operators", "list"], "callbacks list": ["callbacks", "list"],
           "callbacks list --json": ["callbacks", "list", "--json"]})
def test_numbers_under_none_of_the_keys_are_one_line_naming_the_setting(
        written_under_another_key: dict[str, str], args: list[str]) -> None:
    result = ivr(written_under_another_key, args)

    line = one_clear_line(result, "+3806••••••33", "+3805••••••67")
    assert line == ("ivr: a stored phone number is under none of the keys in "
                    "PHONE_ENCRYPTION_KEYS: put back the key it was written under "
                    "(ivr keys rotate then moves every number to the first key)")
    assert result.stdout == ""  # not half a table


def test_keys_rotate_reports_numbers_under_none_of_the_keys_in_its_own_words(
        written_under_another_key: dict[str, str]) -> None:
    line = one_clear_line(ivr(written_under_another_key, ["keys", "rotate"]))

    assert "number(s) are under none of the keys in PHONE_ENCRYPTION_KEYS" in line


def test_a_mistyped_command_is_still_clicks_usage_error(tmp_path: Path) -> None:
    result = ivr(settings(tmp_path, unreachable_postgresql()), ["operators", "lst"])

    assert result.exit_code == 2
    assert "No such command 'lst'" in result.stderr
