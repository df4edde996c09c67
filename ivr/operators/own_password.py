"""An operator changes their own password: the current one, the new one twice (the rules of
`ivr operators password`), and a code of their second factor if they have one. Every try is
counted with the sign-in's tries (sign_in.try_counted) before the current password is
judged, so this form guesses passwords no faster than the sign-in page. A change ends the
person's other sessions, and is in the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ivr.models import Operator
from ivr.operators import audit, second_factor, sign_in
from ivr.operators.accounts import MIN_PASSWORD
from ivr.operators.identity import Staff, staff_of
from ivr.phones import PhoneVault

# Why a change was refused: the new ones differ, the new one is too short, the current
# password or the code is wrong, or too many tries (as at sign-in).
REASONS = ("mismatch", "too_short", "wrong_password", "wrong_code", "locked")


@dataclass(frozen=True)
class Refused:
    reason: str  # one of REASONS


def change(session: Session, vault: PhoneVault, operator_id: int, *, current: str, new: str,
           again: str, code: str, address: str | None, now: datetime) -> Staff | Refused:
    """The person with their new password (and a new session token), or why not. Commits
    once the try is counted, before the current password is judged."""
    operator = session.get_one(Operator, operator_id)
    # Judged before the try is counted: they tell nothing about the current password.
    if new != again:
        return Refused("mismatch")
    if len(new) < MIN_PASSWORD:
        return Refused("too_short")
    counts = sign_in.try_counted(session, operator.login, address, now)
    if isinstance(counts, sign_in.Refused):
        return Refused("locked")
    if not check_password_hash(operator.password_hash, current):
        audit.record(session, now, "login_failed", login=operator.login,
                     operator_id=operator.id, detail="wrong current password", address=address)
        return Refused("wrong_password")
    if second_factor.enrolled(operator) and not second_factor.code_given(
            session, vault, operator, code.strip(), address, now):
        return Refused("wrong_code")
    sign_in.succeeded(session, counts)
    operator.password_hash = generate_password_hash(new)
    operator.sessions_ended_at = now  # every other session, on every device, ends
    audit.record(session, now, "account", login=operator.login, operator_id=operator.id,
                 detail="changed their own password", address=address)
    return staff_of(operator)
