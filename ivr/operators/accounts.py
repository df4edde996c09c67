"""Operators and supervisors: made, put on duty, disabled, given a new password or other
languages, and listed, from the CLI and the supervisors' page alike (every change, from
either, is written to the audit log)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from ivr import phones
from ivr.models import CallbackRequest, Operator, utcnow
from ivr.operators import audit, presence
from ivr.operators.audit import Actor
from ivr.phones import PhoneVault

ROLES = ("operator", "supervisor")
LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
MIN_PASSWORD = 12


class AccountError(Exception):
    """A request about an account that cannot be carried out; the message is one line."""


class LanguagesRefused(AccountError):
    """No language given, or one the menu does not have."""


def add_operator(session: Session, vault: PhoneVault, *, login: str, name: str, phone: str,
                 languages: Iterable[str], known_languages: Iterable[str], role: str,
                 password: str) -> Operator:
    if not LOGIN.fullmatch(login):
        raise AccountError(f"login {login!r}: use 2-64 lower-case letters, digits, . _ -")
    if session.scalar(sa.select(Operator.id).where(Operator.login == login)) is not None:
        raise AccountError(f"login {login!r} is taken")
    name = " ".join(name.split())
    if not 0 < len(name) <= 120:
        raise AccountError("name: give 1 to 120 characters")
    number = phones.normalise(phone.replace(" ", "").replace("-", ""))
    if number is None:
        raise AccountError("phone: not a valid international number like +380501234567")
    codes = _languages(languages, known_languages)
    if role not in ROLES:
        raise AccountError(f"role {role!r}: one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
    operator = Operator(login=login, name=name, role=role, languages=",".join(codes),
                        phone_number=vault.encrypt(number), phone_number_hash=vault.digest(number),
                        password_hash=generate_password_hash(password), on_duty=False,
                        active=True)
    session.add(operator)
    session.flush()
    return operator


def _languages(languages: Iterable[str], known: Iterable[str]) -> tuple[str, ...]:
    codes = tuple(dict.fromkeys(code.strip() for code in languages if code.strip()))
    known = tuple(known)
    unknown = [code for code in codes if code not in known]
    if not codes or unknown:
        raise LanguagesRefused(f"languages: one or more of {', '.join(known)}"
                           + (f" (not {', '.join(unknown)})" if unknown else ""))
    return codes


def find(session: Session, login: str) -> Operator:
    # What cannot be a login is not looked for: PostgreSQL refuses a NUL in a query.
    operator = (session.scalar(sa.select(Operator).where(Operator.login == login))
                if LOGIN.fullmatch(login) else None)
    if operator is None:
        raise AccountError(f"no operator with login {login[:64]!r}")
    return operator


def set_duty(session: Session, login: str, on_duty: bool) -> Operator:
    operator = find(session, login)
    if on_duty and not operator.active:
        raise AccountError(f"{login} is disabled; enable the account first")
    if on_duty and not operator.on_duty:
        presence.back_on_duty(operator, utcnow())
    elif not on_duty:
        presence.sign_off(session, operator, utcnow())
    operator.on_duty = on_duty
    return operator


def all_operators(session: Session) -> list[Operator]:
    return list(session.scalars(sa.select(Operator).order_by(Operator.login)))


def set_active(session: Session, login: str, active: bool) -> Operator:
    """Disable an account (it can no longer sign in or be rung) or enable it again."""
    operator = find(session, login)
    operator.active = active
    if not active:
        operator.on_duty = False
        presence.sign_off(session, operator, utcnow())
    return operator


def set_password(session: Session, login: str, password: str) -> Operator:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password: at least {MIN_PASSWORD} characters")
    operator = find(session, login)
    operator.password_hash = generate_password_hash(password)
    return operator


def add_audited(session: Session, vault: PhoneVault, by: Actor, at: datetime, *, login: str,
                name: str, phone: str, languages: Iterable[str],
                known_languages: Iterable[str], role: str, password: str) -> Operator:
    operator = add_operator(session, vault, login=login, name=name, phone=phone,
                            languages=languages, known_languages=known_languages, role=role,
                            password=password)
    audit.record_by(session, by, at, "account", detail=f"added {operator.login}")
    return operator


def switch_duty(session: Session, by: Actor, at: datetime, login: str,
                on_duty: bool) -> Operator:
    operator = set_duty(session, login, on_duty)
    audit.record_by(session, by, at, "duty", detail=f"{login} {'on' if on_duty else 'off'}")
    return operator


def switch_active(session: Session, by: Actor, at: datetime, login: str,
                  active: bool) -> Operator:
    operator = set_active(session, login, active)
    audit.record_by(session, by, at, "account",
                    detail=f"{'enabled' if active else 'disabled'} {login}")
    return operator


def reset_password(session: Session, by: Actor, at: datetime, login: str,
                   password: str) -> Operator:
    operator = set_password(session, login, password)
    audit.record_by(session, by, at, "account", detail=f"reset the password of {login}")
    return operator


def change_languages(session: Session, by: Actor, at: datetime, login: str,
                     languages: Iterable[str], known_languages: Iterable[str]) -> Operator:
    """The languages the person takes from now on (one or more of the menu's): they are rung
    for and see only these. Their claims on open requests in a language they no longer take
    go back to the queue at once, so that nobody waits on a claim its holder cannot see."""
    codes = _languages(languages, known_languages)
    operator = find(session, login)
    before = operator.languages
    operator.languages = ",".join(codes)
    audit.record_by(session, by, at, "languages",
                    detail=f"{login} {operator.languages} (was {before})")
    dropped = session.scalars(sa.select(CallbackRequest.id).where(
        CallbackRequest.claimed_by == operator.id, CallbackRequest.status == "open",
        CallbackRequest.language.not_in(codes))).all()
    if dropped:
        session.execute(sa.update(CallbackRequest)
                        .where(CallbackRequest.id.in_(dropped),
                               CallbackRequest.claimed_by == operator.id)
                        .values(claimed_by=None, claimed_at=None)
                        .execution_options(synchronize_session=False))
    for request_id in dropped:
        audit.record_by(session, by, at, "release", request_id=request_id,
                        detail=f"from {login}")
    return operator


def set_page_language(session: Session, operator_id: int, language: str) -> None:
    session.get_one(Operator, operator_id).page_language = language
