"""`ivr purge`: keeping only what we must."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ivr.cli.exits import fail
from ivr.operations import retention
from ivr.services import current_hotline


@click.command(help="Delete closed callback requests, calls, call events, recordings (at Twilio "
               "too), Twilio alerts and ended web chats older than the retention period. Open "
               "requests stay.")
@click.option("--older-than", "period", default=None, metavar="PERIOD",
              help="90d, 12h or 2w [default: RETENTION_DAYS days].")
@with_appcontext
def purge(period: str | None) -> None:
    hotline = current_hotline()
    try:
        age = (retention.parse_period(period) if period is not None
               else retention.parse_period(f"{hotline.settings.retention_days}d"))
    except retention.PeriodError as error:
        fail(str(error))
    cutoff = hotline.clock.now() - age
    purged = retention.purge(hotline.engine, hotline.twilio, cutoff)
    click.echo(f"removed what is older than {cutoff:%Y-%m-%d %H:%M} UTC:")
    click.echo(f"  closed callback requests: {purged.requests} (open ones are never removed)")
    click.echo(f"  recordings deleted at Twilio: {purged.recordings}"
               f" (already gone there: {purged.recordings_gone_already})")
    click.echo(f"  calls: {purged.calls}, call events: {purged.events}")
    click.echo(f"  Twilio alerts: {purged.alerts}")
    click.echo(f"  web and Telegram chats that ended: {purged.conversations}")
    click.echo(f"  Telegram bot people with nothing left: {purged.telegram_people}")
    if purged.failures:
        for failure in purged.failures:
            click.echo(f"  kept, Twilio did not delete it: {failure}", err=True)
        fail(f"{len(purged.failures)} recording(s) could not be deleted at Twilio; they and "
             "their requests are kept for the next run")
