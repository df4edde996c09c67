"""Signing in (the password checked against its hash, too many failures refused) and out.

Failures are counted in the audit log, so the limit holds across gunicorn workers and
instances alike.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.models import Operator
from ivr.operators import audit
from ivr.operators.identity import Staff, staff_of

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
# Checked when the login does not exist, so that a wrong login takes as long as a wrong
# password and does not tell which logins exist.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Refused:
    reason: str  # wrong, locked


def sign_in(session: Session, login: str, password: str, address: str | None,
            now: datetime) -> Staff | Refused:
    login = login.strip().lower()[:64].replace("\x00", "\N{REPLACEMENT CHARACTER}")
    if audit.failures_since(session, now - WINDOW, login, address) >= MAX_FAILURES:
        audit.record(session, now, "login_failed", login=login, detail="locked",
                     address=address)
        return Refused("locked")
    operator = session.scalar(sa.select(Operator).where(Operator.login == login))
    stored = operator.password_hash if operator is not None else _DUMMY_HASH
    matches = check_password_hash(stored, password)
    if operator is None or not matches or not operator.active:
        audit.record(session, now, "login_failed", login=login, address=address,
                     operator_id=operator.id if operator is not None else None,
                     detail="disabled" if operator is not None and matches else "wrong")
        return Refused("wrong")
    audit.record(session, now, "login", login=login, operator_id=operator.id, address=address)
    return staff_of(operator)


def sign_out(session: Session, staff: Staff, now: datetime) -> None:
    """Ends every session of the person, on every device and in every copied cookie."""
    audit.record(session, now, "logout", login=staff.login, operator_id=staff.id)
    session.get_one(Operator, staff.id).sessions_ended_at = now
