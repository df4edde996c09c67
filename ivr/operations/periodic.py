"""The periodic work, run by `ivr periodic` (the Procfile's `worker:`, and `make run`):
retention (`ivr purge`), deleting finished calls' records at Twilio, copying callers' messages
and deleting them there, replaying the spool, sweeping abandoned drafts, sending again what
Telegram did not take, and ending the chats whose person went away without "leave now"
(CHAT_IDLE_MINUTES), each on its own schedule.

Each job logs one JSON line per run with its counts (never caller data). A job that fails is
logged and tried again at the next tick; nothing a job raises stops the runner. A shared job
runs on one instance at a time: it takes a lease on its `periodic_jobs` row first, and a
crashed holder's lease lapses after LEASE. The row also keeps the job's last success, which
every web process reads for `/metrics` and `/readyz`.

Adding a job is one line in `jobs()`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ivr.callback_requests import recordings
from ivr.chat import conversations
from ivr.database import unit_of_work
from ivr.models import PeriodicJob
from ivr.operations import retention
from ivr.services import Hotline
from ivr.telegram import delivery
from ivr.twilio import call_records

log = logging.getLogger(__name__)
TICK_SECONDS = 15.0
# A job holds its lease this long at most: longer than any run takes, short enough that a
# crashed holder's jobs are soon taken up elsewhere.
LEASE = timedelta(minutes=15)
# A job that has not succeeded for this many of its intervals makes the service degraded.
STALE_AFTER = 3

Counts = Mapping[str, int | bool]


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[Hotline], Counts]
    # False: each instance runs it for itself, without a lease (its own spool on its disk).
    shared: bool = True


def jobs() -> list[Job]:
    return [
        Job("purge", timedelta(hours=1), purge),
        Job("twilio_calls", timedelta(minutes=5), delete_twilio_calls),
        Job("spool_replay", timedelta(minutes=1), replay_spool, shared=False),
        Job("draft_sweep", timedelta(minutes=5), sweep_drafts),
        Job("recordings", timedelta(minutes=5), copy_recordings),
        Job("telegram_delivery", timedelta(minutes=1), deliver_telegram),
        Job("chat_idle", timedelta(minutes=1), end_idle_chats),
    ]


def purge(hotline: Hotline) -> Counts:
    cutoff = hotline.clock.now() - timedelta(days=hotline.settings.retention_days)
    purged = retention.purge(hotline.engine, hotline.twilio, cutoff)
    return {"requests": purged.requests, "recordings": purged.recordings,
            "recordings_gone_already": purged.recordings_gone_already, "calls": purged.calls,
            "events": purged.events, "alerts": purged.alerts,
            "recordings_kept": len(purged.failures)}


def deliver_telegram(hotline: Hotline) -> Counts:
    """Operators' messages Telegram did not take at first, sent again."""
    with unit_of_work(hotline.engine) as session:
        return {"sent": delivery.deliver_due(session, hotline, hotline.clock.now())}


def delete_twilio_calls(hotline: Hotline) -> Counts:
    writer = hotline.callback_requests
    purged = call_records.purge_calls(
        hotline.engine, hotline.twilio, hotline.clock.now(),
        timedelta(hours=hotline.settings.twilio_call_retention_hours),
        spool_busy=bool(writer.held()) or writer.spool.holds_any())
    return asdict(purged)


def copy_recordings(hotline: Hotline) -> Counts:
    """Callers' messages copied to us encrypted, then deleted at Twilio. A message that must
    wait is counted, not failed: the job failed only if Twilio refused the credentials."""
    fetched = recordings.fetch_recordings(hotline)
    return {"stored": fetched.stored, "deleted": fetched.deleted,
            "gone_already": fetched.gone_already, "waiting": fetched.waiting,
            "undeleted": fetched.undeleted}


def end_idle_chats(hotline: Hotline) -> Counts:
    """Chats waiting for an operator whose person's page has gone quiet (the browser closed
    without "leave now") end: counted abandoned, no longer "waiting" on the desk."""
    with unit_of_work(hotline.engine) as session:
        ended = conversations.end_idle(session, hotline.clock.now(),
                                       hotline.settings.chat_idle_minutes)
    return {"ended": ended}


def replay_spool(hotline: Hotline) -> Counts:
    writer = hotline.callback_requests
    return {"operations": writer.replay() if writer.spool.waiting() else 0}


def sweep_drafts(hotline: Hotline) -> Counts:
    return {"abandoned": hotline.callback_requests.sweep_drafts(hotline.clock.now())}


@dataclass(frozen=True)
class Ran:
    job: str
    counts: Counts | None  # None: it failed
    error: str | None = None


class Runner:
    def __init__(self, hotline: Hotline, schedule: list[Job] | None = None,
                 holder: str | None = None) -> None:
        self.hotline = hotline
        self.jobs = schedule if schedule is not None else jobs()
        self.holder = (holder or f"{socket.gethostname()}:{os.getpid()}")[:64]
        self._last_run: dict[str, datetime] = {}  # the jobs this instance runs for itself

    def tick(self) -> list[Ran]:
        """Run every job that is due; what ran and how it went."""
        now = self.hotline.clock.now()
        return [ran for job in self.jobs if (ran := self._maybe_run(job, now)) is not None]

    def run_forever(self, stop: threading.Event, every: float = TICK_SECONDS) -> None:
        log.info("periodic work started", extra={"jobs": [job.name for job in self.jobs]})
        while True:
            self.tick()
            if stop.wait(every):
                return

    def _maybe_run(self, job: Job, now: datetime) -> Ran | None:
        try:
            if not self._take(job, now):
                return None
        except Exception as error:  # the database away: try at the next tick
            log.warning("periodic job not started", extra={
                "job": job.name, "error": type(error).__name__})
            return Ran(job.name, None, f"not started: {type(error).__name__}")
        try:
            counts = job.run(self.hotline)
            self._record(job, now, success=True)
        except Exception as error:
            return self._failed(job, error)
        if not job.shared:
            self._last_run[job.name] = now
        # Nested, so that a job's count never collides with a LogRecord's own attribute.
        log.info("periodic job done", extra={"job": job.name, "counts": dict(counts)})
        return Ran(job.name, counts)

    def _failed(self, job: Job, error: Exception) -> Ran:
        # The type, and our own errors' messages, which never carry a number.
        reason = type(error).__name__ + (f": {error}" if type(error).__module__.startswith("ivr.")
                                         else "")
        log.error("periodic job failed", extra={"job": job.name, "error": reason[:200]})
        try:
            self._record(job, self.hotline.clock.now(), success=False, error=reason[:200])
        except Exception as unrecorded:  # the database is away: the log lines are all we leave
            log.warning("periodic job's failure not recorded", extra={
                "job": job.name, "error": type(unrecorded).__name__})
        return Ran(job.name, None, reason)

    def _take(self, job: Job, now: datetime) -> bool:
        if not job.shared:
            last = self._last_run.get(job.name)
            return last is None or now - last >= job.every
        self._ensure_row(job.name)
        free = sa.or_(PeriodicJob.held_until.is_(None), PeriodicJob.held_until < now)
        due = sa.or_(PeriodicJob.last_run_at.is_(None),
                     PeriodicJob.last_run_at <= now - job.every)
        with unit_of_work(self.hotline.engine) as session:
            taken = session.connection().execute(
                sa.update(PeriodicJob).where(PeriodicJob.name == job.name, free, due)
                .values(holder=self.holder, held_until=now + LEASE))
            return taken.rowcount == 1

    def _ensure_row(self, name: str) -> None:
        with unit_of_work(self.hotline.engine) as session:
            if session.get(PeriodicJob, name) is not None:
                return
        try:
            with unit_of_work(self.hotline.engine) as session:
                session.add(PeriodicJob(name=name))
        except IntegrityError:
            pass  # another instance made it first

    def _record(self, job: Job, now: datetime, success: bool, error: str | None = None
                ) -> None:
        values: dict[str, object] = {"holder": None, "held_until": None, "last_error": error}
        if success:
            values.update(last_run_at=now, last_success_at=now)
        if not job.shared:
            self._ensure_row(job.name)
        mine = (PeriodicJob.holder == self.holder) if job.shared else sa.true()
        with unit_of_work(self.hotline.engine) as session:
            session.connection().execute(sa.update(PeriodicJob).where(
                PeriodicJob.name == job.name, mine).values(**values))


def last_successes(hotline: Hotline) -> dict[str, PeriodicJob | None]:
    """Each job's row (its last success and error), None for a job that never ran."""
    with unit_of_work(hotline.engine) as session:
        rows = {row.name: row for row in session.scalars(sa.select(PeriodicJob))}
        session.expunge_all()
    return {job.name: rows.get(job.name) for job in jobs()}


def stale_jobs(hotline: Hotline) -> dict[str, str]:
    """The jobs that have not succeeded for STALE_AFTER of their intervals, and why."""
    now = hotline.clock.now()
    rows = last_successes(hotline)
    stale: dict[str, str] = {}
    for job in jobs():
        row = rows[job.name]
        if row is None or row.last_success_at is None:
            stale[job.name] = "never succeeded (is `ivr periodic` running?)"
        elif row.last_success_at < now - STALE_AFTER * job.every:
            stale[job.name] = (f"last success {row.last_success_at:%Y-%m-%d %H:%M} UTC"
                               + (f"; last error: {row.last_error}" if row.last_error else ""))
    return stale
