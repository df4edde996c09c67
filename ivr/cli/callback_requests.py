"""`ivr callbacks list|close` and `ivr spool ...`."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError

from ivr.callback_requests import store
from ivr.callback_requests.spool import Rejected
from ivr.cli.engineer import engineer
from ivr.cli.exits import explain, fail
from ivr.database import db
from ivr.models import CallbackRequest
from ivr.operators import claims, work_queue
from ivr.phones import PhoneVault, mask
from ivr.services import current_hotline

REFERENCE_LENGTH = 8  # as stored; the numbers told are six digits


@click.group("callbacks", cls=AppGroup, help="Callback requests.")
def callback_requests() -> None:
    pass


@callback_requests.command("list", help="Requests, most urgent first, with numbers masked.")
@click.option("--status", type=click.Choice(work_queue.LISTED_STATUSES), default=None,
              help="Only these: open; waiting (open, no claim holds it); claimed (open, a "
              "claim holds it); due (open, to be tried now); later (open, its next try to "
              "come); decision (open, a supervisor decides); done (closed, whatever the "
              "outcome); or the outcome that closed them.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def list_requests(status: str | None, as_json: bool) -> None:
    hotline = current_hotline()
    where = (None if status is None else
             work_queue.status_condition(status, hotline.clock.now(),
                                         hotline.settings.claim_minutes))
    requests = store.requests_by_urgency(db.session.connection(), where)
    # Every number is decrypted before anything is printed: a key problem is one line.
    rows = [_row(request, hotline.vault) for request in requests]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    click.echo(f"{'number':<8} {'status':<8} {'pri':>3} {'lang':<4} {'reason':<16} "
               f"{'phone':<16} {'tries':>5} {'message':<7} created (UTC)")
    for request, row in zip(requests, rows, strict=True):
        message = f"{request.recording_duration}s" if request.recording_duration else "-"
        click.echo(f"{request.reference:<8} {request.status:<8} {request.priority:>3} "
                   f"{request.language:<4} {request.reason:<16} {row['number']:<16} "
                   f"{request.attempts:>5} {message:<7} "
                   f"{request.created_at:%Y-%m-%d %H:%M}")


@callback_requests.command("close", help="Close an open request with the outcome `closed` "
                           "(written to the audit log as cli:<your system user>). REFERENCE: "
                           "the request's number, or a number a caller was told on a call.")
@click.argument("reference")
def close(reference: str) -> None:
    hotline = current_hotline()
    wanted = "".join(reference.split())
    if not (wanted.isascii() and wanted.isdigit() and len(wanted) <= REFERENCE_LENGTH):
        fail(f"{reference!r} is not a request's number (six digits, like 483920)")
    request = store.find_by_reference(db.session.connection(), wanted)
    if request is None:
        fail(f"no callback request has the number {wanted}")
    now = hotline.clock.now()
    holder = claims.held(request, now, hotline.settings.claim_minutes)
    if not claims.close(db.session(), engineer(), request.id, now):
        db.session.rollback()
        how = f" ({request.status})" if request.status != "open" else " (a moment ago)"
        fail(f"request {request.reference} is already closed{how}")
    db.session.commit()
    told = "" if request.reference == wanted else f" (told as {wanted})"
    claim = "; the operator's claim on it ended" if holder else ""
    click.echo(f"request {request.reference}{told} closed (outcome closed, audited as "
               f"{engineer().login}): "
               f"{request.language}, {request.reason}, made {request.created_at:%Y-%m-%d %H:%M} "
               f"UTC{claim}")


def _row(request: CallbackRequest, vault: PhoneVault) -> dict[str, object]:
    return {
        "reference": request.reference, "status": request.status,
        "priority": request.priority, "language": request.language,
        "reason": request.reason, "number": mask(vault.decrypt(request.number)),
        "number_confirmed": request.number_confirmed, "attempts": request.attempts,
        "may_identify": request.may_identify, "safe_window": request.safe_window,
        "caller_timezone": request.caller_timezone,
        "message_seconds": request.recording_duration,
        "created_at": request.created_at.isoformat(timespec="seconds"),
    }


@click.group(cls=AppGroup,
             help="The local spool of requests the database could not take at the time.")
def spool() -> None:
    pass


@spool.command("replay", help="Move what the spool holds into the database now (the service "
               "also does this by itself every few seconds).")
@click.option("--rejected", is_flag=True, help="Try the records set aside once more (after "
              "the key they are sealed under was put back in PHONE_ENCRYPTION_KEYS, say).")
def replay(rejected: bool) -> None:
    writer = current_hotline().callback_requests
    try:
        waiting = writer.spool.waiting()
        replayed = writer.replay_rejected() if rejected else writer.replay()
    except OSError as error:
        fail(f"the spool in {writer.spool.directory} cannot be read "
             f"({error.strerror or type(error).__name__})")
    except Exception as error:
        why = (explain(error) if isinstance(error, SQLAlchemyError)
               else type(error).__name__)
        fail(f"the database is still unavailable: {why}; "
             f"{waiting} operation(s) wait in {writer.spool.directory}")
    click.echo(f"{replayed} operation(s) replayed into the database; "
               f"{writer.spool.waiting()} waiting")
    _report_rejected(writer.spool.rejected())


@spool.command("status", help="How many operations wait in the spool, and how many records "
               "were set aside because they cannot be replayed.")
def status() -> None:
    local = current_hotline().callback_requests.spool
    try:
        waiting, rejected = local.waiting(), local.rejected()
    except OSError as error:
        fail(f"the spool in {local.directory} cannot be read "
             f"({error.strerror or type(error).__name__})")
    click.echo(f"{waiting} operation(s) waiting in {local.directory}")
    problem = local.problem()
    if problem is not None:
        click.echo(f"the spool {problem}: while the database is away, callback requests "
                   "could not wait there", err=True)
    _report_rejected(rejected)


REASONS = {"torn": "cut short (a crash or a full disk; never acknowledged to a caller)",
           "unreadable": "sealed under none of PHONE_ENCRYPTION_KEYS",
           "torn-or-unreadable": "cut short, or sealed under none of PHONE_ENCRYPTION_KEYS",
           "unknown": "not an operation this version knows",
           "refused": "refused by the database"}


def _report_rejected(rejected: Rejected) -> None:
    if not rejected.total:
        return
    local = current_hotline().callback_requests.spool
    click.echo(f"{rejected.total} record(s) set aside in {local.rejected_path}:")
    for reason, count in sorted(rejected.reasons.items()):
        click.echo(f"  {count} {REASONS.get(reason, reason)}")
    click.echo("Each is kept there, sealed; `ivr spool replay --rejected` tries them again.")
