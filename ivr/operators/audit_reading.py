"""The audit log as supervisors read it: each entry with its request's reference (the number
the caller was told, not our internal id), who acted (a person on the page, or an engineer's
system user at the command line), and its detail taken apart into a phrase and its values,
for the page to word in its language. A detail this does not know is shown as it is, with
anything that may be a phone number masked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.database import page_within
from ivr.models import AuditEntry, CallbackRequest
from ivr.operations.logs import redact
from ivr.operators.claims import OUTCOMES

CLI_LOGIN = "cli"
# A sign-in's login is as typed: `cli:root` there is someone's guess, not an engineer.
TYPED_LOGINS = ("login", "login_failed")


@dataclass(frozen=True)
class Said:
    """A detail taken apart: `phrase` names how the page words it, `values` fill it in
    (logins, language and outcome codes, a masked number, a reason as typed)."""

    phrase: str
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    entry: AuditEntry
    reference: str | None  # the request's, while it is kept
    who: str  # the login, masked where it may be a number someone typed
    engineer: str | None  # the system user of a command-line action ("" if not known)
    said: Said | None


@dataclass(frozen=True)
class LinesPage:
    lines: list[Line]
    page: int
    pages: int


def lines(session: Session, page: int, action: str | None = None,
          page_size: int = 100) -> LinesPage:
    """A page of the log, newest first, optionally of one action."""
    query = (sa.select(AuditEntry, CallbackRequest.reference)
             .outerjoin(CallbackRequest, CallbackRequest.id == AuditEntry.request_id))
    count = sa.select(sa.func.count()).select_from(AuditEntry)
    if action is not None:
        query = query.where(AuditEntry.action == action)
        count = count.where(AuditEntry.action == action)
    total = session.scalar(count) or 0
    page, pages = page_within(page, total, page_size)
    rows = session.execute(query.order_by(AuditEntry.id.desc())
                           .limit(page_size).offset((page - 1) * page_size))
    return LinesPage([_line(entry, reference) for entry, reference in rows], page, pages)


def _line(entry: AuditEntry, reference: str | None) -> Line:
    typed = entry.action in TYPED_LOGINS
    return Line(entry, reference, redact(entry.login),
                None if typed else engineer(entry.login), said(entry.action, entry.detail))


def engineer(login: str) -> str | None:
    """`cli:alice` → `alice`; `cli` (the user was not known) → ``; a page login → None."""
    if login == CLI_LOGIN:
        return ""
    name = login.removeprefix(CLI_LOGIN + ":")
    if name == login:
        return None
    return "" if name == "unknown" else name


Reader = Callable[[re.Match[str]], Said]
# Per action, the details the code writes (see each audit.record) and how to read them.
_READERS: dict[str, list[tuple[re.Pattern[str], Reader]]] = {
    "outcome": [
        (re.compile(rf"({'|'.join(OUTCOMES)})"), lambda m: Said("outcome", {"outcome": m[1]})),
        (re.compile(r"closed: trial call \S*"), lambda m: Said("closed_trial_call")),
        # A call back the caller did not answer (busy, no-answer, failed), recorded by itself.
        (re.compile(r"no_answer: ([a-z-]+)"),
         lambda m: Said("no_answer_status", {"status": m[1]})),
    ],
    "presence": [
        (re.compile(r"ready \(wrap-up ended\)"), lambda m: Said("presence_ready")),
        (re.compile(r"([a-z_]+) -> ([a-z_]+)"),
         lambda m: Said("presence", {"before": m[1], "after": m[2]})),
    ],
    "paused": [(re.compile(r"(\S+) after (\d{1,3}) missed calls"),
                lambda m: Said("paused", {"login": m[1], "missed": m[2]}))],
    "decision": [
        (re.compile(r"retry"), lambda m: Said("decision_retry")),
        (re.compile(rf"({'|'.join(OUTCOMES)})"), lambda m: Said("outcome", {"outcome": m[1]})),
    ],
    "duty": [(re.compile(r"(\S+) (on|off)"),
              lambda m: Said(f"duty_{m[2]}", {"login": m[1]}))],
    "surge": [(re.compile(r"(\S+) (on|off)"),
               lambda m: Said(f"surge_{m[2]}", {"language": m[1]}))],
    "account": [
        (re.compile(r"(added|enabled|disabled) (\S+)"),
         lambda m: Said(f"account_{m[1]}", {"login": m[2]})),
        (re.compile(r"reset the password of (\S+)"),
         lambda m: Said("account_password", {"login": m[1]})),
    ],
    "second_factor": [
        (re.compile(r"enrolled"), lambda m: Said("second_factor_enrolled")),
        (re.compile(r"recovery code used"), lambda m: Said("second_factor_recovery")),
        (re.compile(r"reset for (\S+)"),
         lambda m: Said("second_factor_reset", {"login": m[1]})),
    ],
    "login_failed": [
        (re.compile(r"(locked|wrong|disabled)"), lambda m: Said(f"failed_{m[1]}")),
        (re.compile(r"wrong second factor"), lambda m: Said("failed_code")),
    ],
    "block": [(re.compile(r"block \S+ (.+?) (\d{1,5})d: (.*)", re.DOTALL),
               lambda m: Said("block", {"number": m[1], "days": m[2], "reason": m[3]}))],
    "unblock": [(re.compile(r"unblock \S+ (.+)"), lambda m: Said("number", {"number": m[1]}))],
    "dismiss_flag": [(re.compile(r"dismiss (.+)"), lambda m: Said("number", {"number": m[1]}))],
    "export": [(re.compile(r"requests\.csv"), lambda m: Said("export_csv"))],
    "release": [(re.compile(r"from (\S+)"), lambda m: Said("release_from", {"login": m[1]}))],
    "reassign": [(re.compile(r"from (\S+) to (\S+)"),
                  lambda m: Said("reassign", {"holder": m[1], "taker": m[2]}))],
    "languages": [(re.compile(r"(\S+) ([a-z,]+) \(was ([a-z,]*)\)"),
                   lambda m: Said("languages", {"login": m[1], "languages": m[2],
                                                "before": m[3]}))],
}


def said(action: str, detail: str | None) -> Said | None:
    """The detail of an entry, taken apart; None when it has none."""
    if not detail:
        return None
    # Entries written before details were masked may hold a number someone typed.
    text = redact(detail)
    for pattern, read in _READERS.get(action, []):
        match = pattern.fullmatch(text)
        if match is not None:
            return read(match)
    return Said("as_written", {"text": text})
