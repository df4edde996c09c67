"""`ivr periodic`: the periodic work (retention, Twilio's call records, the spool, drafts)."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click
from flask.cli import with_appcontext

from ivr.cli.exits import fail
from ivr.operations.periodic import TICK_SECONDS, Runner
from ivr.services import current_hotline


@click.command(help="Run the periodic jobs on their schedule until stopped (the Procfile's "
               "worker); --once runs every job that is due once and prints what it did.")
@click.option("--once", is_flag=True, help="One round of the jobs that are due, then exit.")
@with_appcontext
def periodic(once: bool) -> None:
    runner = Runner(current_hotline())
    if once:
        ran = runner.tick()
        for each in ran:
            outcome = (", ".join(f"{name} {value}" for name, value in each.counts.items())
                       if each.counts is not None else f"failed: {each.error}")
            click.echo(f"{each.job}: {outcome}")
        failed = [each.job for each in ran if each.counts is None]
        if failed:
            fail(f"{len(failed)} periodic job(s) failed ({', '.join(failed)}); see the log")
        return
    stop = threading.Event()

    def stopping(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, stopping)
    signal.signal(signal.SIGINT, stopping)
    runner.run_forever(stop, TICK_SECONDS)
