"""What Twilio keeps of our calls: each finished leg's record holds the numbers in it, so it
is deleted through the REST API after `TWILIO_CALL_RETENTION_HOURS`, once everything we need
from it is stored here. `ivr twilio purge-calls` runs it once; `ivr periodic` on a schedule.

A leg waits while it has not ended (Twilio refuses to delete it anyway), while a caller's
message on it is not stored here yet, and while a callback request begun on it is still
being written (a draft, or anything in this instance's spool). A refusal leaves the leg for
the next run; Twilio asking us to slow down (429) ends the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ivr.callback_requests.recordings import PENDING
from ivr.database import unit_of_work
from ivr.models import Call, CallbackDraft, Recording
from ivr.twilio.call_status import STATUS_RANK, TERMINAL_RANK
from ivr.twilio.rest_api import TwilioApi, TwilioApiError

# One run deletes at most this many, one request at a time: Twilio is never hammered, and
# a backlog of thousands goes over a few runs.
PER_RUN = 500
MARK_BATCH = 200
SLOW_DOWN = 429
NO_AUDIO = ("failed", "absent")  # Twilio's recording statuses with nothing to fetch
ENDED = tuple(status for status, rank in STATUS_RANK.items() if rank == TERMINAL_RANK)


@dataclass
class CallsPurged:
    deleted: int = 0
    gone_already: int = 0  # a 404: nothing of it is left at Twilio either way
    left: int = 0  # Twilio refused (not complete yet, an outage): tried again next run
    slowed_down: bool = False  # Twilio answered 429: the run stopped there
    waiting_for_spool: bool = False  # a callback request is still being written


def recordings_not_stored() -> sa.ColumnElement[bool]:
    """A caller's message on the leg that we still need from Twilio: not yet copied to us
    (`recordings.fetch_recordings`). Twilio keeps recordings apart from call records, but the
    leg waits until the message is safe here."""
    return sa.exists().where(Recording.call_sid == Call.call_sid,
                             Recording.status.not_in(NO_AUDIO),
                             Recording.copy_state == PENDING)


def request_being_written() -> sa.ColumnElement[bool]:
    """A callback request half-taken on the leg: its draft may still need the call's facts."""
    return sa.exists().where(CallbackDraft.call_sid == Call.call_sid)


def deletable(before: datetime) -> sa.ColumnElement[bool]:
    """Legs whose record may go at Twilio: ended before `before`, nothing needed from them."""
    return sa.and_(Call.twilio_deleted_at.is_(None), Call.ended_at.is_not(None),
                   Call.ended_at <= before, Call.status.in_(ENDED),
                   sa.not_(recordings_not_stored()), sa.not_(request_being_written()))


def purge_calls(engine: Engine, twilio: TwilioApi, now: datetime, retention: timedelta,
                spool_busy: bool = False, per_run: int = PER_RUN) -> CallsPurged:
    purged = CallsPurged()
    if spool_busy:
        # Which calls the spooled requests came from is sealed in the spool: wait for it.
        purged.waiting_for_spool = True
        return purged
    with unit_of_work(engine) as session:
        sids = list(session.scalars(sa.select(Call.call_sid).where(deletable(now - retention))
                                    .order_by(Call.ended_at).limit(per_run)))
    done: list[str] = []
    for sid in sids:
        try:
            if twilio.delete_call(sid):
                purged.deleted += 1
            else:
                purged.gone_already += 1
            done.append(sid)
        except TwilioApiError as error:
            purged.left += 1
            if error.status == SLOW_DOWN:
                purged.slowed_down = True
                break
    _mark_deleted(engine, done, now)
    return purged


def _mark_deleted(engine: Engine, sids: list[str], now: datetime) -> None:
    for start in range(0, len(sids), MARK_BATCH):
        batch = sids[start:start + MARK_BATCH]
        with unit_of_work(engine) as session:
            session.connection().execute(sa.update(Call).where(Call.call_sid.in_(batch))
                                         .values(twilio_deleted_at=now))
