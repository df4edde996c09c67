"""How an `ivr` command fails: one clear line on standard error, and exit status 1.

`guarded` gives every command the same end for what an engineer meets on a machine rather
than in the code: a database that is missing, not migrated or unreachable, a stored number
under none of PHONE_ENCRYPTION_KEYS, a file that cannot be read. The line names the setting
or what to run; never the database's password, never a phone number.
"""

from __future__ import annotations

import copy
import functools
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from cryptography.fernet import InvalidToken
from flask import current_app
from sqlalchemy import exc
from sqlalchemy.engine import URL, make_url

from ivr.operations.logs import redact

UPGRADE = "(run: ivr db upgrade)"
# PostgreSQL's codes for a table or a column the schema does not have (yet).
NO_TABLE, NO_COLUMN = "42P01", "42703"

Command = TypeVar("Command", bound=click.Command)


def fail(message: str) -> NoReturn:
    click.echo(f"ivr: {message}", err=True)
    sys.exit(1)


def guarded(command: Command) -> Command:
    """A copy of the command (a group's commands copied too) that ends in one line for the
    failures `explain` knows. Click's own usage errors pass through unchanged."""
    copied = copy.copy(command)
    if isinstance(command, click.Group) and isinstance(copied, click.Group):
        copied.commands = {name: guarded(sub) for name, sub in command.commands.items()}
    if command.callback is not None:
        copied.callback = _one_line(command.callback)
    return copied


def _one_line(callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except BrokenPipeError:
            raise  # `ivr ... | head`: click deals with it
        except (exc.SQLAlchemyError, InvalidToken, OSError) as error:
            fail(explain(error))

    return run


def explain(error: exc.SQLAlchemyError | InvalidToken | OSError) -> str:
    if isinstance(error, InvalidToken):
        return ("a stored phone number is under none of the keys in PHONE_ENCRYPTION_KEYS: "
                "put back the key it was written under (ivr keys rotate then moves every "
                "number to the first key)")
    if isinstance(error, OSError):
        where = f"{error.filename}: " if error.filename else ""
        lines = (error.strerror or str(error)).strip().splitlines()
        return redact(f"{where}{lines[0] if lines else type(error).__name__}")
    if isinstance(error, exc.ArgumentError):  # settings refuse these first; just in case
        return "DATABASE_URL is not a database URL SQLAlchemy can use"
    return _database_problem(error)


def _database_problem(error: exc.SQLAlchemyError) -> str:
    url = _database_url()
    where = _where(url)
    if not isinstance(error, exc.DBAPIError):
        return f"the database {where} failed ({type(error).__name__})"
    reason = _reason(error, url)
    code = getattr(error.orig, "sqlstate", None)
    if code == NO_TABLE or reason.startswith("no such table"):
        return f"the database {where} has no tables yet {UPGRADE}"
    if code == NO_COLUMN or reason.startswith("no such column"):
        return f"the database {where} is older than this version of the code {UPGRADE}"
    if isinstance(error, exc.OperationalError) and error.statement is None:
        # It failed while connecting: nothing was asked of it yet.
        if url is not None and url.get_backend_name() == "sqlite":
            return f"cannot open the database {where}: {_sqlite_reason(url, reason)}"
        return f"cannot connect to the database {where}: {reason}"
    return f"the database {where} refused: {reason}"


def _database_url() -> URL | None:
    try:
        return make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    except (RuntimeError, KeyError, exc.ArgumentError, ValueError):  # no app: not loaded
        return None


def _where(url: URL | None) -> str:
    """The database as the line names it: the SQLite file, or the server's host, port and
    database; DATABASE_URL either way. Never the password."""
    if url is None:
        return "in DATABASE_URL"
    if url.get_backend_name() == "sqlite":
        return f"file {url.database or '(in memory)'} (DATABASE_URL)"
    server = url.host or "the local socket"
    port = f":{url.port}" if url.port else ""
    return f"{url.database or ''} on {server}{port} (DATABASE_URL)".lstrip()


def _reason(error: exc.DBAPIError, url: URL | None) -> str:
    """The driver's first line, without its boilerplate, a password or a phone number."""
    lines = str(error.orig).strip().splitlines()
    reason = lines[0] if lines else type(error.orig).__name__
    # psycopg: 'connection failed: connection to server at "h", port 1 failed: <why>'
    reason = reason.rsplit(" failed: ", 1)[-1]
    reason = re.sub(r"^(FATAL|ERROR):\s+", "", reason)
    reason = " ".join(reason.split())
    if url is not None and url.password:
        reason = reason.replace(str(url.password), "***")
    return redact(reason)


def _sqlite_reason(url: URL, reason: str) -> str:
    if url.database:
        folder = Path(url.database).parent
        if not folder.is_dir():
            return f"the folder {folder} does not exist"
    return reason
