"""Rows put straight into the database, for stories that start long after the calls."""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from flask import Flask

from ivr.database import db
from ivr.models import Call, CallbackRequest, CallEvent, Recording, RequestCall
from tests.support import hotline_of


def new_sid(prefix: str = "CA") -> str:
    return prefix + secrets.token_hex(16)


def add_call(app: Flask, at: datetime, caller: str = "+79161234567",
             call_sid: str | None = None) -> str:
    vault = hotline_of(app).vault
    sid = call_sid or new_sid()
    with app.app_context():
        db.session.add(Call(call_sid=sid, direction="inbound", from_number=vault.encrypt(caller),
                            from_number_hash=vault.digest(caller), status="completed",
                            started_at=at, ended_at=at))
        db.session.add(CallEvent(call_sid=sid, kind="incoming", node="language", at=at))
        db.session.commit()
    return sid


def add_request(app: Flask, at: datetime, status: str = "open",
                number: str = "+380501234567", call_sid: str | None = None,
                recording_sid: str | None = None) -> int:
    vault = hotline_of(app).vault
    sid = call_sid or new_sid()
    with app.app_context():
        request = CallbackRequest(
            reference=f"{secrets.randbelow(900_000) + 100_000}", number=vault.encrypt(number),
            number_hash=vault.digest(number), number_source="caller_id", language="uk",
            reason="chosen", priority=3, status=status, first_call_sid=sid, last_call_sid=sid,
            recording_sid=recording_sid, created_at=at, updated_at=at)
        db.session.add(request)
        db.session.flush()
        db.session.add(RequestCall(call_sid=sid, request_id=request.id, at=at))
        db.session.commit()
        return request.id


def add_recording(app: Flask, at: datetime, call_sid: str, recording_sid: str | None = None
                  ) -> str:
    sid = recording_sid or new_sid("RE")
    with app.app_context():
        db.session.add(Recording(recording_sid=sid, call_sid=call_sid, status="completed",
                                 duration_seconds=12, at=at))
        db.session.commit()
    return sid


def count(app: Flask, model: type[db.Model]) -> int:  # type: ignore[name-defined]
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
