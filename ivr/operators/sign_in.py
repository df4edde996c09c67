"""Signing in (the password checked against its hash, too many failures refused) and out.

Failures are counted in the database (`sign_in_counts`), so the limit holds across gunicorn
workers and instances alike. Each try is counted, and the count committed, before its
password is judged, by one statement per count that adds one and reads the sum back: of a
burst of wrong passwords sent at once, no more than the limit are judged. Within WINDOW a
login has three counts, each with its limit:

- from one address, MAX_FAILURES: someone guessing elsewhere does not lock the person out
  of their own desk;
- from every address together, LOGIN_FACTOR times as many: a brake on a guess spread over
  many addresses;
- from one address for every login, ADDRESS_FACTOR times as many.

A count whose window has passed starts again from the failures the audit log holds for the
last WINDOW, so a guess that goes on never gets a fresh start. A try that succeeds is taken
off the counts; every failure stays in the audit log, for supervisors, as before.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.database import upsert
from ivr.models import Operator, SignInCount
from ivr.operators import audit, presence
from ivr.operators.identity import Staff, staff_of

MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
# Several people may share an address (an office, or the proxy itself when
# TRUSTED_PROXY_HOPS is not set): it gets ten times the tries of one login.
ADDRESS_FACTOR = 10
# A login's tries from every address together: enough that one guessing from elsewhere
# does not lock its owner out, few enough to stop a guess from many addresses.
LOGIN_FACTOR = 10
LIMITS = {"pair": MAX_FAILURES, "login": MAX_FAILURES * LOGIN_FACTOR,
          "address": MAX_FAILURES * ADDRESS_FACTOR}
# Counts whose window has passed, deleted by each try (each try makes at most three).
PRUNED_PER_TRY = 100
# Checked when the login does not exist, so that a wrong login takes as long as a wrong
# password and does not tell which logins exist.
_DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class Refused:
    reason: str  # wrong, locked


@dataclass(frozen=True)
class Count:
    """One count a try was added to, and the sum it made."""

    scope: str  # pair, login, address
    login: str
    address: str
    failures: int
    window_start: datetime

    @property
    def over_limit(self) -> bool:
        return self.failures > LIMITS[self.scope]


def sign_in(session: Session, login: str, password: str, address: str | None,
            now: datetime) -> Staff | Refused:
    """The person, or why not. Commits the session once the try is counted, before the
    password is judged."""
    login, address = _storable(login.strip().lower()), _storable(address or "")
    counts = _count_try(session, login, address, now)
    session.commit()  # counted before judged: a burst cannot overtake the limit
    if any(count.over_limit for count in counts):
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
    _uncount(session, counts)
    audit.record(session, now, "login", login=login, operator_id=operator.id, address=address)
    return staff_of(operator)


def try_counted(session: Session, login: str, address: str | None,
                now: datetime) -> list[Count] | Refused:
    """A try of something else that proves the person (their second factor), counted with
    the passwords' tries; committed before it is judged. Refused if over a limit."""
    login, address = _storable(login), _storable(address or "")
    counts = _count_try(session, login, address, now)
    session.commit()
    if any(count.over_limit for count in counts):
        audit.record(session, now, "login_failed", login=login, detail="locked",
                     address=address)
        return Refused("locked")
    return counts


def succeeded(session: Session, counts: list[Count]) -> None:
    _uncount(session, counts)


def sign_out(session: Session, staff: Staff, now: datetime) -> None:
    """Ends every session of the person, on every device and in every copied cookie."""
    audit.record(session, now, "logout", login=staff.login, operator_id=staff.id)
    operator = session.get_one(Operator, staff.id)
    operator.sessions_ended_at = now
    presence.sign_off(session, operator, now)  # nobody rings a person who has left the desk


def _count_try(session: Session, login: str, address: str, now: datetime) -> list[Count]:
    """Add a try to each of its counts, always in the same order so that two tries cannot
    each hold a count the other waits for, then clear away some counts whose window has
    passed."""
    keys = [("pair", login, address), ("login", login, "")]
    if address:
        keys.append(("address", "", address))
    counts = [_add_one(session, scope, key_login, key_address, now)
              for scope, key_login, key_address in keys]
    _prune(session, now)
    return counts


def _uncount(session: Session, counts: list[Count]) -> None:
    """A try that signed the person in is no failure: taken off the counts it was added to
    (unless their window started again meanwhile)."""
    for count in counts:
        session.execute(
            sa.update(SignInCount)
            .where(SignInCount.scope == count.scope, SignInCount.login == count.login,
                   SignInCount.address == count.address,
                   SignInCount.window_start == count.window_start, SignInCount.failures > 0)
            .values(failures=SignInCount.failures - 1)
            .execution_options(synchronize_session=False))


def _add_one(session: Session, scope: str, login: str, address: str, now: datetime) -> Count:
    """One statement adds the try and reads the sum, so no other try can come between."""
    table = SignInCount.__table__
    window_passed = table.c.window_start <= now - WINDOW
    logged = audit.failed_sign_ins(now - WINDOW, login=login if scope != "address" else None,
                                   address=address if scope != "login" else None)
    insert = upsert(session.connection(), table).values(
        scope=scope, login=login, address=address, window_start=now, failures=logged + 1)
    statement = insert.on_conflict_do_update(
        index_elements=["scope", "login", "address"],
        set_={"failures": sa.case((window_passed, insert.excluded.failures),
                                  else_=table.c.failures + 1),
              "window_start": sa.case((window_passed, insert.excluded.window_start),
                                      else_=table.c.window_start)},
    ).returning(table.c.failures, table.c.window_start)
    failures, window_start = session.execute(statement).one()
    return Count(scope, login, address, int(failures), window_start)


def _prune(session: Session, now: datetime) -> None:
    # Locked rows are skipped (PostgreSQL; SQLite has one writer at a time): a try never
    # waits for another here, nor another for it longer than this one statement.
    table = SignInCount.__table__
    key = sa.tuple_(table.c.scope, table.c.login, table.c.address)
    passed = (sa.select(table.c.scope, table.c.login, table.c.address)
              .where(table.c.window_start <= now - WINDOW).limit(PRUNED_PER_TRY)
              .with_for_update(skip_locked=True))
    session.execute(sa.delete(SignInCount).where(key.in_(passed))
                    .execution_options(synchronize_session=False))


def _storable(text: str) -> str:
    """As typed, cut to what the database keeps; PostgreSQL refuses a NUL in text."""
    return text[:64].replace("\x00", "\N{REPLACEMENT CHARACTER}")
