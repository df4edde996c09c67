"""The periodic work (`ivr periodic`) runs retention, the deletions at Twilio, the spool replay
and the abandoned-draft sweep by itself: each job on its schedule, once across instances, a
failure logged and tried again, its last success shown in /metrics and /readyz."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from ivr.database import db
from ivr.models import Call, PeriodicJob
from ivr.operations.periodic import Job, Runner, jobs
from ivr.services import Hotline
from tests.fake_twilio import FakeTwilio
from tests.rows import add_call
from tests.support import hotline_of

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
EVERY_JOB = [job.name for job in jobs()]


@pytest.fixture
def hotline(app: Flask) -> Hotline:
    hotline = hotline_of(app)
    hotline.clock.fixed = NOW
    return hotline


def later(hotline: Hotline, **delta: float) -> None:
    assert hotline.clock.fixed is not None
    hotline.clock.fixed += timedelta(**delta)


def job_row(app: Flask, name: str) -> PeriodicJob | None:
    with app.app_context():
        row = db.session.get(PeriodicJob, name)
        if row is not None:
            db.session.expunge(row)
        return row


def counting(name: str, every: timedelta = timedelta(minutes=5)) -> tuple[Job, list[int]]:
    runs: list[int] = []

    def run(_hotline: Hotline) -> dict[str, int]:
        runs.append(1)
        return {"things": len(runs)}

    return Job(name, every, run), runs


def test_every_job_runs_at_the_first_tick_and_logs_one_line_of_counts(
        app: Flask, hotline: Hotline, twilio: FakeTwilio,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ivr.operations.periodic")

    ran = Runner(hotline).tick()

    assert [each.job for each in ran] == EVERY_JOB
    assert all(each.counts is not None for each in ran), ran
    done = [record for record in caplog.records if record.getMessage() == "periodic job done"]
    assert [record.job for record in done] == EVERY_JOB  # type: ignore[attr-defined]
    twilio_calls = next(record for record in done
                        if record.job == "twilio_calls")  # type: ignore[attr-defined]
    assert twilio_calls.counts["deleted"] == 0  # type: ignore[attr-defined]
    for name in EVERY_JOB:
        row = job_row(app, name)
        assert row is not None and row.last_success_at == NOW and row.held_until is None


def test_a_job_runs_again_only_once_its_interval_has_passed(
        app: Flask, hotline: Hotline) -> None:
    job, runs = counting("tidy", timedelta(minutes=5))
    runner = Runner(hotline, [job])

    runner.tick()
    later(hotline, minutes=4)
    runner.tick()
    later(hotline, minutes=1)
    runner.tick()

    assert len(runs) == 2


def test_two_instances_never_run_the_same_job_at_once(app: Flask, hotline: Hotline) -> None:
    job, runs = counting("tidy")
    first, second = Runner(hotline, [job], "first:1"), Runner(hotline, [job], "second:1")

    assert [ran.job for ran in first.tick()] == ["tidy"]
    assert second.tick() == []

    assert len(runs) == 1


def test_a_crashed_holders_lease_lapses_and_another_instance_takes_the_job(
        app: Flask, hotline: Hotline) -> None:
    job, runs = counting("tidy")
    with app.app_context():  # "crashed:1" took the lease and died in the middle of the run
        db.session.add(PeriodicJob(name="tidy", holder="crashed:1",
                                   held_until=NOW + timedelta(minutes=15)))
        db.session.commit()
    other = Runner(hotline, [job], "other:1")

    assert other.tick() == []
    later(hotline, minutes=16)
    assert [ran.job for ran in other.tick()] == ["tidy"]
    assert len(runs) == 1


def test_a_failing_job_is_logged_retried_at_the_next_tick_and_stops_nothing_else(
        app: Flask, hotline: Hotline, caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[int] = []

    def flaky(_hotline: Hotline) -> dict[str, int]:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("the disk is away")
        return {"done": 1}

    steady, runs = counting("steady")
    runner = Runner(hotline, [Job("flaky", timedelta(hours=1), flaky), steady])

    first = runner.tick()
    later(hotline, seconds=15)
    second = runner.tick()

    assert [(ran.job, ran.error) for ran in first] == [("flaky", "OSError"), ("steady", None)]
    assert [ran.job for ran in second] == ["flaky"], "retried at the next tick, not in an hour"
    assert len(runs) == 1
    assert any(record.getMessage() == "periodic job failed" for record in caplog.records)
    row = job_row(app, "flaky")
    assert row is not None and row.last_error is None and row.last_success_at is not None


def test_a_fresh_service_whose_periodic_work_never_ran_is_degraded_but_answers(
        app: Flask, hotline: Hotline) -> None:
    response = app.test_client().get("/readyz")

    assert response.status_code == 200
    assert response.json is not None and response.json["status"] == "degraded"
    assert set(response.json["periodic"]) == set(EVERY_JOB)


def test_readiness_turns_degraded_when_a_job_has_not_succeeded_for_three_intervals(
        app: Flask, hotline: Hotline, twilio: FakeTwilio) -> None:
    Runner(hotline).tick()
    assert app.test_client().get("/readyz").json == {"status": "ready", "checks": {
        "database": "ok", "migrations": "ok", "database_file": "ok", "spool": "ok",
        "prompts": "ok"}}

    later(hotline, minutes=16)  # the 5-minute jobs are 3 intervals behind, purge is not
    response = app.test_client().get("/readyz")

    assert response.status_code == 200 and response.json is not None
    assert response.json["status"] == "degraded"
    assert set(response.json["periodic"]) == {"twilio_calls", "recordings", "spool_replay",
                                             "draft_sweep", "telegram_delivery", "chat_idle"}
    assert response.json["periodic"]["twilio_calls"] == "last success 2026-11-30 12:00 UTC"


def test_metrics_show_each_jobs_last_success_and_whether_it_is_failing(
        app: Flask, hotline: Hotline, twilio: FakeTwilio) -> None:
    def broken(_hotline: Hotline) -> dict[str, int]:
        raise RuntimeError("no")

    Runner(hotline, [*jobs(), Job("broken", timedelta(minutes=1), broken)]).tick()
    with app.app_context():  # a job of a newer version, unknown to this one, is not shown
        assert db.session.get(PeriodicJob, "broken") is not None

    text = app.test_client().get("/metrics").get_data(as_text=True)

    values = dict(line.rsplit(" ", 1) for line in text.splitlines()
                  if line.startswith("ivr_periodic_"))
    assert float(values['ivr_periodic_last_success_timestamp_seconds{job="purge"}']
                 ) == NOW.timestamp()
    assert float(values['ivr_periodic_job_failing{job="twilio_calls"}']) == 0
    assert 'job="broken"' not in text


def test_the_periodic_work_deletes_finished_calls_at_twilio_by_itself(
        app: Flask, hotline: Hotline, twilio: FakeTwilio) -> None:
    old = add_call(app, NOW - timedelta(hours=25))
    twilio.a_call_happened(old)

    Runner(hotline).tick()

    assert twilio.call_records == set()
    with app.app_context():
        assert db.session.scalar(sa.select(Call.twilio_deleted_at)) == NOW


def test_ivr_periodic_once_prints_what_each_job_did(
        app: Flask, hotline: Hotline, runner: FlaskCliRunner, twilio: FakeTwilio) -> None:
    result = runner.invoke(args=["periodic", "--once"])

    assert result.exit_code == 0, result.output
    printed = [line for line in result.output.splitlines() if not line.startswith("{")]
    assert [line.split(":")[0] for line in printed] == EVERY_JOB
    assert "twilio_calls: deleted 0, gone_already 0, left 0" in result.output


def test_ivr_periodic_once_exits_1_when_a_job_fails(
        app: Flask, hotline: Hotline, runner: FlaskCliRunner, twilio: FakeTwilio,
        monkeypatch: pytest.MonkeyPatch) -> None:
    def away(_hotline: Hotline) -> int:
        raise OSError("the disk is away")

    monkeypatch.setattr(type(hotline.callback_requests.spool), "waiting", away)

    result = runner.invoke(args=["periodic", "--once"])

    assert result.exit_code == 1
    assert "spool_replay: failed: OSError" in result.output
    assert "1 periodic job(s) failed (spool_replay)" in result.output


def test_metrics_show_a_job_whose_last_run_failed(
        app: Flask, hotline: Hotline, twilio: FakeTwilio, monkeypatch: pytest.MonkeyPatch) -> None:
    def away(_hotline: Hotline) -> int:
        raise OSError("the disk is away")

    monkeypatch.setattr(type(hotline.callback_requests.spool), "waiting", away)
    Runner(hotline).tick()

    text = app.test_client().get("/metrics").get_data(as_text=True)

    assert 'ivr_periodic_job_failing{job="spool_replay"} 1.0' in text
    assert 'ivr_periodic_job_failing{job="draft_sweep"} 0.0' in text


def test_on_postgresql_one_instance_takes_each_job_and_deletes_at_twilio(
        postgres_app: Flask, twilio: FakeTwilio) -> None:
    hotline = hotline_of(postgres_app)
    hotline.clock.fixed = NOW
    old = add_call(postgres_app, NOW - timedelta(hours=25))
    twilio.a_call_happened(old)
    first, second = Runner(hotline, holder="first:1"), Runner(hotline, holder="second:1")

    ran = first.tick()

    assert [each.job for each in ran if each.counts is not None] == EVERY_JOB
    assert [each.job for each in second.tick()] == ["spool_replay"]  # each instance's own
    assert twilio.call_records == set()


def test_the_worker_ticks_until_it_is_told_to_stop(app: Flask, hotline: Hotline) -> None:
    job, runs = counting("tidy", timedelta(0))
    stop = threading.Event()

    def stop_after_three(_hotline: Hotline) -> dict[str, int]:
        if len(runs) >= 3:
            stop.set()
        return {}

    Runner(hotline, [job, Job("stopper", timedelta(0), stop_after_three)]).run_forever(
        stop, every=0.01)

    assert len(runs) == 3
