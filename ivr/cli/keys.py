"""`ivr keys new|rotate`: keys for the settings, and re-encrypting every stored number."""

from __future__ import annotations

import secrets

import click
from cryptography.fernet import Fernet
from flask.cli import with_appcontext

from ivr.cli.exits import fail
from ivr.operations import key_rotation
from ivr.services import current_hotline


@click.group(help="Make keys for the settings, and rotate the phone encryption key.")
def keys() -> None:
    pass


@keys.command("new", help="Print a new PHONE_ENCRYPTION_KEYS key, PHONE_HASH_KEY and SECRET_KEY.")
def keys_new() -> None:
    click.echo(f"PHONE_ENCRYPTION_KEYS={Fernet.generate_key().decode()}")
    click.echo(f"PHONE_HASH_KEY={secrets.token_urlsafe(48)}")
    click.echo(f"SECRET_KEY={secrets.token_urlsafe(48)}")


@keys.command("rotate", help="Re-encrypt every stored phone number and recorded message "
              "under the first key of PHONE_ENCRYPTION_KEYS, in batches; safe to stop and run "
              "again.")
@with_appcontext
def keys_rotate() -> None:
    hotline = current_hotline()
    keys = hotline.settings.phone_encryption_keys
    results = key_rotation.rotate_all(hotline.engine, keys, lambda done: click.echo(str(done)))
    unreadable = sum(done.unreadable for done in results if not done.recordings)
    unreadable_messages = sum(done.unreadable for done in results if done.recordings)
    if unreadable or unreadable_messages:
        fail(f"{unreadable} number(s) are under none of the keys in PHONE_ENCRYPTION_KEYS"
             + (f", and {unreadable_messages} recorded message(s)" if unreadable_messages
                else "") + ": put back the key that was removed, and run this again")
    rewritten = sum(done.rewritten for done in results if not done.recordings)
    messages = sum(done.rewritten for done in results if done.recordings)
    click.echo(f"done: {rewritten} number(s) re-encrypted, and {messages} recorded "
               "message(s); every number and message is under the first key")
    if len(keys) > 1:
        click.echo("The other keys can leave PHONE_ENCRYPTION_KEYS once every instance's spool "
                   "is empty (ivr spool status) and the calls in progress have ended.")
