"""`ivr audit verify`: walk the audit log's hash chain from its first entry to its last."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ivr.cli.exits import fail
from ivr.database import db
from ivr.operators import audit as audit_log


@click.group(help="Look after the operators' page's audit log.")
def audit() -> None:
    pass


@audit.command("verify", help="Check every entry of the audit log against the hash chain: "
               "exits 1, naming the first entry that does not match, if one was changed, "
               "removed or added afterwards.")
@with_appcontext
def audit_verify() -> None:
    check = audit_log.verify(db.session())
    if not check.intact:
        click.echo(f"{check.checked} entries match before it")
        fail(str(check))
    click.echo(str(check))
    # Unkeyed, the chain cannot tell a rewrite of every entry from here on from the truth;
    # the last hash, kept somewhere else, can.
    click.echo(f"last hash: {check.head} (kept elsewhere, it proves later that the entries "
               "up to here were not rewritten)")
