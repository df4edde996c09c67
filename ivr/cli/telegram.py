"""`ivr telegram set-webhook`: tell Telegram where to send the bot's updates, and the secret
it sends with each one."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ivr.cli.exits import fail
from ivr.services import current_hotline
from ivr.telegram.bot_api import BotApiError
from ivr.telegram.updates import PATH


@click.group(help="The Telegram bot.")
def telegram() -> None:
    pass


@telegram.command("set-webhook",
                  help="Register PUBLIC_BASE_URL/telegram/webhook and the secret with Telegram.")
@with_appcontext
def set_webhook() -> None:
    hotline = current_hotline()
    settings = hotline.settings
    if not settings.telegram_bot_token:
        fail("TELEGRAM_BOT_TOKEN is not set: there is no bot to point at us")
    if not settings.public_base_url:
        fail("PUBLIC_BASE_URL is not set: Telegram needs the public https address of the app")
    if not settings.telegram_webhook_secret:
        fail("TELEGRAM_WEBHOOK_SECRET is not set")
    url = settings.public_base_url.rstrip("/") + PATH
    try:
        hotline.telegram.set_webhook(url, settings.telegram_webhook_secret)
    except BotApiError as error:
        fail(f"Telegram did not take the webhook: {error}")
    click.echo(f"Telegram sends the bot's messages to {url}")
