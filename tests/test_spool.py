"""The spool under faults: a record torn by a crash or a full disk never harms a neighbour,
nothing is deleted unread, and a spool that cannot be written never stands in the way of a
healthy database."""

from __future__ import annotations

import base64
import errno
import json
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask

from ivr import create_app
from ivr.callback_requests.operations import AddAnswers, DropDraft, Operation, from_json, to_json
from ivr.callback_requests.spool import REPLAY_GROUP, Spool, frame
from ivr.callback_requests.writer import NotKept, Spooled
from ivr.phones import PhoneVault
from ivr.settings import ConfigError
from ivr.twilio.phone_simulator import Phone
from tests.conftest import phone_for
from tests.support import hotline_of, prompts, settings_for
from tests.test_callback_requests import (
    UKRAINIAN_CALLER,
    answer_the_questions,
    break_table,
    mend_table,
    number_of,
    stored_requests,
    to_callback_request,
    told,
)

Dial = Callable[..., Phone]
KEY = Fernet.generate_key().decode()
OTHER_KEY = Fernet.generate_key().decode()
HASH_KEY = "a-hash-key-for-the-spool-tests-only-0123456789"
AT = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "spool", PhoneVault((KEY,), HASH_KEY))


def operation(index: int) -> Operation:
    return DropDraft(f"CA{index:032x}")


def replayed(spool: Spool) -> list[Operation]:
    done: list[Operation] = []
    spool.replay(done.extend, lambda error: False)
    return done


@pytest.fixture
def disk_fills_after(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """The next write to the spool takes `room` bytes, then the disk is full."""

    def fill(room: int) -> None:
        real_write = os.write

        def short_write(descriptor: int, data: bytes) -> int:
            monkeypatch.setattr(os, "write", real_write)  # once: then the disk is free again
            written = real_write(descriptor, bytes(data[:room]))
            if written < len(data):
                raise OSError(errno.ENOSPC, "No space left on device")
            return written

        monkeypatch.setattr(os, "write", short_write)

    return fill


def test_a_record_torn_by_a_crash_harms_no_record_written_after_it(spool: Spool) -> None:
    spool.append(operation(1))
    with spool.log_path.open("ab") as file:  # a worker killed half-way through a record
        file.write(frame(b"gAAAAA" + b"x" * 100)[:60])
    spool.append(operation(2))
    spool.append(operation(3))

    assert replayed(spool) == [operation(1), operation(2), operation(3)]
    assert spool.rejected().reasons == {"torn": 1}
    assert spool.waiting() == 0


def test_a_record_cut_short_by_a_full_disk_leaves_nothing_behind(
        spool: Spool, disk_fills_after: Callable[[int], None]) -> None:
    spool.append(operation(1))
    before = spool.log_path.read_bytes()
    disk_fills_after(40)

    with pytest.raises(OSError, match="No space left"):
        spool.append(operation(2))

    assert spool.log_path.read_bytes() == before  # cut back to where the record began
    spool.append(operation(3))
    assert replayed(spool) == [operation(1), operation(3)]
    assert spool.rejected().total == 0


def test_a_torn_record_that_could_not_be_cut_back_is_set_aside_on_replay(
        spool: Spool, disk_fills_after: Callable[[int], None],
        monkeypatch: pytest.MonkeyPatch) -> None:
    spool.append(operation(1))
    disk_fills_after(40)
    def broken_truncate(*args: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "ftruncate", broken_truncate)

    with pytest.raises(OSError, match="No space left"):
        spool.append(operation(2))
    monkeypatch.undo()
    spool.append(operation(3))

    assert replayed(spool) == [operation(1), operation(3)]
    assert spool.rejected().reasons == {"torn": 1}


def test_a_spool_written_by_the_previous_version_still_replays(spool: Spool) -> None:
    vault = PhoneVault((KEY,), HASH_KEY)
    spool.directory.mkdir()
    old = [vault.seal(json.dumps({"op": "drop_draft", "call_sid": f"CA{index:032x}"}))
           for index in (1, 2)]
    spool.log_path.write_text("".join(f"{token}\n" for token in old))

    assert replayed(spool) == [operation(1), operation(2)]


def test_a_record_under_a_retired_key_is_kept_and_replays_once_the_key_is_back(
        tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    Spool(directory, PhoneVault((OTHER_KEY,), HASH_KEY)).append(operation(1))
    without_the_key = Spool(directory, PhoneVault((KEY,), HASH_KEY))
    without_the_key.append(operation(2))

    assert replayed(without_the_key) == [operation(2)]
    assert without_the_key.rejected().reasons == {"unreadable": 1}

    key_put_back = Spool(directory, PhoneVault((KEY, OTHER_KEY), HASH_KEY))
    done: list[Operation] = []
    key_put_back.replay_rejected(done.extend, lambda error: False)
    assert done == [operation(1)]
    assert key_put_back.rejected().total == 0


def test_an_operation_this_version_does_not_know_is_set_aside_not_dropped(spool: Spool) -> None:
    vault = PhoneVault((KEY,), HASH_KEY)
    spool.append(operation(1))
    with spool.log_path.open("ab") as file:
        file.write(frame(vault.seal(json.dumps({"op": "teleport"})).encode()))

    assert replayed(spool) == [operation(1)]
    assert spool.rejected().reasons == {"unknown": 1}
    [entry] = spool.rejected_path.read_bytes().splitlines()
    kept = base64.b64decode(entry.split(b" ")[2])
    assert vault.unseal(kept.split(b" ")[3].decode()) == '{"op": "teleport"}'


def test_an_operation_the_database_refuses_is_set_aside_and_the_rest_go_on(spool: Spool) -> None:
    for index in (1, 2, 3):
        spool.append(operation(index))
    done: list[Operation] = []

    def refuse_the_second(applied: Sequence[Operation]) -> None:
        if operation(2) in applied:
            raise ValueError("refused")  # and the transaction stores none of them
        done.extend(applied)

    spool.replay(refuse_the_second, lambda error: isinstance(error, ValueError))

    assert done == [operation(1), operation(3)]
    assert spool.rejected().reasons == {"refused": 1}


def test_after_an_outage_the_spool_reaches_the_database_a_hundred_operations_a_transaction(
        spool: Spool) -> None:
    # One commit (a flush to disk) per operation made a 30-second outage's spool take over a
    # minute to reach the operators' page.
    for index in range(250):
        spool.append(operation(index))
    transactions: list[Sequence[Operation]] = []

    spool.replay(transactions.append, lambda error: False)

    assert [len(group) for group in transactions] == [REPLAY_GROUP, REPLAY_GROUP, 50]
    assert [op for group in transactions for op in group] == [operation(i) for i in range(250)]
    assert spool.waiting() == 0


# --- the spool in the service ---------------------------------------------------------------


@pytest.fixture
def spool_is_a_file(make_app: Callable[..., Flask], tmp_path: Path) -> Flask:
    """SPOOL_DIR names a file (a volume mounted wrongly): no spool can be written there."""
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_text("")
    return make_app(SPOOL_DIR=str(not_a_folder))


def test_a_spool_that_cannot_be_written_does_not_stop_a_healthy_database(
        spool_is_a_file: Flask) -> None:
    call, _ = to_callback_request(phone_for(spool_is_a_file))

    heard = call.press("1")

    assert heard[0].prompt == "callback_saved"
    answer_the_questions(call)
    call.record(seconds=4)
    [request] = stored_requests(spool_is_a_file)
    assert request.reference == told(heard)
    assert number_of(spool_is_a_file, request) == UKRAINIAN_CALLER


def test_a_caller_who_hangs_up_is_kept_although_the_spool_cannot_be_written(
        spool_is_a_file: Flask) -> None:
    call, _ = to_callback_request(phone_for(spool_is_a_file))
    call.hang_up()  # the number was known: a draft, stored as abandoned

    [request] = stored_requests(spool_is_a_file)
    assert request.reason == "abandoned"


def test_readiness_and_metrics_report_a_spool_that_cannot_be_written(
        spool_is_a_file: Flask) -> None:
    client = spool_is_a_file.test_client()

    ready = client.get("/readyz")
    metrics = client.get("/metrics")

    assert ready.status_code == 503
    assert ready.json is not None
    assert ready.json["checks"]["spool"] == "SPOOL_DIR: is not a directory"
    assert ready.json["checks"]["database"] == "ok"
    assert metrics.status_code == 200
    assert "ivr_spool_writable 0.0" in metrics.get_data(as_text=True)


def test_production_refuses_to_start_on_a_spool_it_cannot_write(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_text("")
    production = {
        "IVR_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_AUTH_TOKEN": "a-real-auth-token",
        "PUBLIC_BASE_URL": "https://ivr.example.org", "SECRET_KEY": "s" * 40,
        "PHONE_ENCRYPTION_KEYS": KEY, "PHONE_HASH_KEY": HASH_KEY,
        "HOTLINE_NUMBER": "+15005550006",
        "CALLBACK_CALLER_IDS": "+442071838750", "SPOOL_DIR": str(not_a_folder)}

    with pytest.raises(ConfigError) as refused:
        create_app(production)

    message = str(refused.value)
    assert message.startswith(f"SPOOL_DIR={not_a_folder} is not a directory")
    assert "\n" not in message


def test_development_starts_on_a_spool_it_cannot_write_and_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_text("")

    app = create_app(settings_for(f"sqlite:///{tmp_path / 'ivr.sqlite3'}",
                                  SPOOL_DIR=str(not_a_folder)))

    logged = capsys.readouterr().err
    assert f"SPOOL_DIR={not_a_folder} is not a directory" in logged
    assert '"level": "WARNING"' in logged
    hotline_of(app).call_log.close(timeout=1)


# --- neither the database nor the disk --------------------------------------------------------


@pytest.fixture
def disk_full(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    spool = hotline_of(app).callback_requests.spool
    real_append = spool.append
    full = {"on": False}

    def append(operation: Operation) -> None:
        if full["on"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_append(operation)

    monkeypatch.setattr(spool, "append", append)
    return lambda on: full.update(on=on)


def test_with_the_database_away_and_the_disk_full_a_caller_is_not_told_saved_but_kept(
        app: Flask, phone: Dial, disk_full: Callable[[bool], None]) -> None:
    call, _ = to_callback_request(phone)
    break_table(app)
    disk_full(True)

    heard = call.press("1")

    assert prompts(heard) == [("uk", "technical_trouble")]
    writer = hotline_of(app).callback_requests
    assert writer.held() >= 1
    assert "held in memory" in app.test_client().get("/readyz").get_data(as_text=True)
    disk_full(False)
    assert writer.flush_held()
    assert writer.spool.waiting() >= 1
    mend_table(app)
    writer.replay()
    [request] = stored_requests(app)
    assert number_of(app, request) == UKRAINIAN_CALLER


def test_operations_held_in_memory_keep_the_order_of_the_calls_steps(
        app: Flask, disk_full: Callable[[bool], None], monkeypatch: pytest.MonkeyPatch) -> None:
    writer = hotline_of(app).callback_requests

    def database_away(applied: Operation) -> None:
        raise sa.exc.OperationalError("UPDATE", {}, Exception("connection refused"))

    monkeypatch.setattr(writer, "_apply", database_away)
    disk_full(True)

    assert isinstance(writer._perform(operation(1)), NotKept)
    disk_full(False)
    second = writer._perform(operation(2))  # the held one first, then this one

    assert isinstance(second, Spooled)
    assert writer.held() == 0
    done: list[Operation] = []
    writer.spool.replay(done.extend, lambda error: False)
    assert done == [operation(1), operation(2)]


def test_the_hour_a_caller_told_survives_the_spool_and_older_records_still_read() -> None:
    told = AddAnswers("CA" + "1" * 32, False, "day", datetime(2026, 12, 1, tzinfo=UTC), 180)
    record = json.loads(json.dumps(to_json(told)))
    older = {key: value for key, value in record.items() if key != "utc_offset"}

    assert from_json(record) == told
    read = from_json(older)
    assert isinstance(read, AddAnswers) and read.utc_offset is None
