"""Retiring a phone encryption key: every number is re-encrypted under the new one, in
batches, and can be stopped and run again; nobody's number is unreadable at any point."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from click.testing import Result
from cryptography.fernet import Fernet
from flask import Flask

from ivr import create_app
from ivr.cli import make_cli
from ivr.database import db
from ivr.models import Call, CallbackDraft, CallbackRequest, Operator, Recording, RecordingCopy
from ivr.operations import key_rotation
from ivr.operators import accounts
from ivr.settings import PROJECT_ROOT
from tests.conftest import close, migrate
from tests.fake_twilio import a_wav
from tests.rows import add_call, add_request
from tests.support import hotline_of, settings_for

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
CALLER = "+79161234567"
OLENA = "+380501112233"


@pytest.fixture
def old_app(make_app: Callable[..., Flask]) -> Flask:
    """The hotline as it was, with one key: a call, a request, a draft and an operator."""
    app = make_app(PHONE_ENCRYPTION_KEYS=OLD_KEY)
    vault = hotline_of(app).vault
    add_call(app, NOW, caller=CALLER)
    add_request(app, NOW, number="+380501234567")
    with app.app_context():
        db.session.add(CallbackDraft(call_sid="CA" + "d" * 32, number=vault.encrypt(CALLER),
                                     number_source="caller_id", language="ru", reason="chosen",
                                     started_at=NOW))
        db.session.commit()
        accounts.add_operator(db.session(), vault, login="olena", name="Olena", phone=OLENA,
                              languages=["uk"], known_languages=("ru", "uk", "en"),
                              role="operator", password="correct horse battery")
        db.session.commit()
    return app


@pytest.fixture
def same_database(old_app: Flask, tmp_path: object) -> Iterator[Callable[[str], Flask]]:
    """The same database, with PHONE_ENCRYPTION_KEYS set otherwise (a restart)."""
    apps: list[Flask] = []

    def restart(keys: str) -> Flask:
        app = create_app(settings_for(old_app.config["SQLALCHEMY_DATABASE_URI"],
                                      PHONE_ENCRYPTION_KEYS=keys,
                                      SPOOL_DIR=str(tmp_path) + f"/spool-{len(apps)}"))
        apps.append(app)
        return app

    yield restart
    for app in apps:
        close(app)


def rotate(app: Flask) -> Result:
    return app.test_cli_runner().invoke(make_cli(), ["keys", "rotate"])


def every_number(app: Flask) -> list[str]:
    """Every stored number, decrypted with the app's keys."""
    vault = hotline_of(app).vault
    with app.app_context():
        tokens = [*db.session.scalars(sa.select(Call.from_number)),
                  *db.session.scalars(sa.select(CallbackRequest.number)),
                  *db.session.scalars(sa.select(CallbackDraft.number)),
                  *db.session.scalars(sa.select(Operator.phone_number))]
    return sorted(vault.decrypt(token) for token in tokens if token)


def test_after_rotation_the_new_key_alone_reads_every_number(
        old_app: Flask, same_database: Callable[[str], Flask]) -> None:
    numbers = every_number(old_app)

    result = rotate(same_database(f"{NEW_KEY},{OLD_KEY}"))

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[:5] == [
        "calls.from_number: 1 re-encrypted, 0 already under the first key",
        "calls.to_number: 0 re-encrypted, 0 already under the first key",
        "callback_requests.number: 1 re-encrypted, 0 already under the first key",
        "callback_drafts.number: 1 re-encrypted, 0 already under the first key",
        "operators.phone_number: 1 re-encrypted, 0 already under the first key",
    ]
    assert "done: 4 number(s) re-encrypted" in result.output
    assert every_number(same_database(NEW_KEY)) == numbers == sorted(
        [CALLER, CALLER, "+380501234567", OLENA])


def test_running_it_again_changes_nothing(old_app: Flask,
                                          same_database: Callable[[str], Flask]) -> None:
    app = same_database(f"{NEW_KEY},{OLD_KEY}")
    rotate(app)

    again = rotate(app)

    assert again.exit_code == 0
    assert "done: 0 number(s) re-encrypted" in again.output
    assert "callback_requests.number: 0 re-encrypted, 1 already under the first key" in \
        again.output


def test_it_works_in_batches_and_picks_up_where_it_stopped(
        old_app: Flask, same_database: Callable[[str], Flask],
        monkeypatch: pytest.MonkeyPatch) -> None:
    for number in range(5):
        add_call(old_app, NOW, caller=f"+7916123450{number}")
    app = same_database(f"{NEW_KEY},{OLD_KEY}")
    monkeypatch.setattr(key_rotation, "BATCH", 2)
    # Stopped after the first batch: the service has restarted with the new key meanwhile.
    rotator = key_rotation.Rotator((NEW_KEY, OLD_KEY))
    with app.app_context():
        first_two = list(db.session.scalars(sa.select(Call.id).order_by(Call.id).limit(2)))
        for call in db.session.scalars(sa.select(Call).where(Call.id.in_(first_two))):
            call.from_number = rotator.new_token(call.from_number or "") or call.from_number
        db.session.commit()

    result = rotate(app)

    assert result.exit_code == 0, result.output
    assert "calls.from_number: 4 re-encrypted, 2 already under the first key" in result.output
    assert len(every_number(same_database(NEW_KEY))) == 9


def test_a_number_no_key_can_read_is_reported_and_left_alone(
        old_app: Flask, same_database: Callable[[str], Flask]) -> None:
    # Somebody removed the old key before rotating.
    result = rotate(same_database(NEW_KEY))

    assert result.exit_code == 1
    assert "calls.from_number: 0 re-encrypted, 0 already under the first key, " \
           "1 UNREADABLE with every key" in result.output
    assert result.stderr.startswith("ivr: 4 number(s) are under none of the keys")
    assert every_number(same_database(OLD_KEY))  # still there for the old key


def test_a_callers_message_we_hold_is_re_encrypted_too(
        old_app: Flask, same_database: Callable[[str], Flask],
        monkeypatch: pytest.MonkeyPatch) -> None:
    sids = [f"RE{index:032x}" for index in range(3)]
    with old_app.app_context():
        for sid in sids:
            db.session.add(Recording(recording_sid=sid, call_sid="CA" + "d" * 32,
                                     status="completed", at=NOW, copy_state="deleted"))
            db.session.add(RecordingCopy(recording_sid=sid, stored_at=NOW,
                                         audio=hotline_of(old_app).vault.seal_audio(a_wav())))
        db.session.commit()
    monkeypatch.setattr(key_rotation, "RECORDING_BATCH", 2)

    result = rotate(same_database(f"{NEW_KEY},{OLD_KEY}"))

    assert result.exit_code == 0, result.output
    assert "recording_copies.audio: 3 re-encrypted, 0 already under the first key" in \
        result.output
    assert "done: 4 number(s) re-encrypted, and 3 recorded message(s)" in result.output
    new_only = same_database(NEW_KEY)
    with new_only.app_context():
        tokens = list(db.session.scalars(sa.select(RecordingCopy.audio)))
    assert [hotline_of(new_only).vault.unseal_audio(token) for token in tokens] == [a_wav()] * 3


def test_every_encrypted_column_is_rotated() -> None:
    models = (PROJECT_ROOT / "ivr" / "models.py").read_text()
    declared = re.findall(r"^\s+(\w+): Mapped\[.*\] = mapped_column\(ENCRYPTED_(?:NUMBER|TEXT)",
                          models, re.MULTILINE)

    rotated = [column.key for _key, column in key_rotation.ENCRYPTED_COLUMNS]

    assert sorted(declared) == sorted(rotated)


def test_on_postgresql_too_the_new_key_alone_reads_every_number_after(
        postgres_url: str, tmp_path: object) -> None:
    apps = [create_app(settings_for(postgres_url, PHONE_ENCRYPTION_KEYS=keys,
                                    SPOOL_DIR=f"{tmp_path}/spool-{number}"))
            for number, keys in enumerate((OLD_KEY, f"{NEW_KEY},{OLD_KEY}", NEW_KEY))]
    try:
        migrate(apps[0])
        add_call(apps[0], NOW, caller=CALLER)
        add_request(apps[0], NOW, number=OLENA)

        result = rotate(apps[1])

        assert result.exit_code == 0, result.output
        assert every_number(apps[2]) == sorted([CALLER, OLENA])
    finally:
        for app in apps:
            close(app)


def test_the_operators_second_factor_secrets_are_re_encrypted_too(
        old_app: Flask, same_database: Callable[[str], Flask]) -> None:
    with old_app.app_context():
        olena = db.session.scalars(sa.select(Operator)).one()
        olena.totp_secret = hotline_of(old_app).vault.seal("JBSWY3DPEHPK3PXP")
        db.session.commit()

    result = rotate(same_database(f"{NEW_KEY},{OLD_KEY}"))

    assert "operators.totp_secret: 1 re-encrypted, 0 already under the first key" in (
        result.output.splitlines())
    new = same_database(NEW_KEY)
    with new.app_context():
        token = db.session.scalars(sa.select(Operator.totp_secret)).one()
    assert token is not None
    assert hotline_of(new).vault.unseal(token) == "JBSWY3DPEHPK3PXP"
