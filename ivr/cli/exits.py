"""How an `ivr` command fails: one clear line on standard error, and exit status 1."""

from __future__ import annotations

import sys
from typing import NoReturn

import click


def fail(message: str) -> NoReturn:
    click.echo(f"ivr: {message}", err=True)
    sys.exit(1)
