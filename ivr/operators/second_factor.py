"""The second factor of signing in: a TOTP code from an app on the person's phone, or one
of ten recovery codes, each good once.

The TOTP secret is stored encrypted under the phone numbers' keys (`ivr keys rotate`
re-encrypts it); the recovery codes only as hashes. A code is taken at most once: the time
step of the last code taken is kept, and a code of that step or an earlier one is refused.
A wrong code is a failed sign-in: counted against the same limits as a wrong password, and
written to the audit log.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

import pyotp
import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.models import Operator
from ivr.operators import audit, sign_in
from ivr.operators.audit import Actor
from ivr.operators.identity import Staff, staff_of
from ivr.phones import PhoneVault

ISSUER = "Hotline operators"
RECOVERY_CODES = 10
# A code of the step before or after now is taken too: a phone's clock drifts a little.
DRIFT_STEPS = 1


@dataclass(frozen=True)
class Enrolled:
    recovery_codes: list[str]  # shown once, never stored


def enrolled(operator: Operator) -> bool:
    return operator.totp_secret is not None


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, login: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=login, issuer_name=ISSUER)


def enrol(session: Session, vault: PhoneVault, operator: Operator, secret: str, code: str,
          address: str | None, now: datetime) -> Enrolled | sign_in.Refused:
    """Store the secret once a code made from it proves the person's app has it."""
    counts = sign_in.try_counted(session, operator.login, address, now)
    if isinstance(counts, sign_in.Refused):
        return counts
    step = _matching_step(secret, code, now, after=None)
    if step is None:
        _failed(session, operator, "wrong code while enrolling", address, now)
        return sign_in.Refused("wrong")
    sign_in.succeeded(session, counts)
    codes = [_recovery_code() for _ in range(RECOVERY_CODES)]
    operator.totp_secret = vault.seal(secret)
    operator.totp_last_step = step
    operator.recovery_codes = "\n".join(_digest(code) for code in codes)
    audit.record(session, now, "second_factor", login=operator.login, operator_id=operator.id,
                 detail="enrolled", address=address)
    return Enrolled(codes)


def check(session: Session, vault: PhoneVault, operator: Operator, code: str,
          address: str | None, now: datetime) -> Staff | sign_in.Refused:
    """The person, if the code is a fresh TOTP code of theirs or an unspent recovery code
    (then spent); or why not."""
    counts = sign_in.try_counted(session, operator.login, address, now)
    if isinstance(counts, sign_in.Refused):
        return counts
    if not code_given(session, vault, operator, code, address, now):
        return sign_in.Refused("wrong")
    sign_in.succeeded(session, counts)
    return staff_of(operator)


def code_given(session: Session, vault: PhoneVault, operator: Operator, code: str,
               address: str | None, now: datetime) -> bool:
    """Whether the code is a fresh TOTP code of theirs (then taken) or an unspent recovery
    code (then spent); a wrong one is in the audit log as a failed sign-in. The caller
    counts the try (sign_in.try_counted) first."""
    secret = vault.unseal(operator.totp_secret or "")
    step = (_matching_step(secret, code, now, after=operator.totp_last_step)
            if secret is not None else None)
    taken = step is not None and _take_step(session, operator, step)
    if not taken and _spend_recovery_code(session, operator, code):
        audit.record(session, now, "second_factor", login=operator.login,
                     operator_id=operator.id, detail="recovery code used", address=address)
    elif not taken:
        _failed(session, operator, "wrong second factor", address, now)
        return False
    return True


def reset(session: Session, by: Actor, at: datetime, operator: Operator) -> None:
    """Forget the person's second factor (they enrol again when they next sign in) and end
    their sessions everywhere."""
    operator.totp_secret = None
    operator.totp_last_step = None
    operator.recovery_codes = None
    operator.sessions_ended_at = at
    audit.record_by(session, by, at, "second_factor", detail=f"reset for {operator.login}")


def _failed(session: Session, operator: Operator, detail: str, address: str | None,
            now: datetime) -> None:
    # login_failed: the sign-in limits count these entries when a window starts again.
    audit.record(session, now, "login_failed", login=operator.login, operator_id=operator.id,
                 detail=detail, address=address)


def _matching_step(secret: str, code: str, now: datetime, after: int | None) -> int | None:
    code = "".join(code.split())
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if (after is None or step > after) and hmac.compare_digest(
                totp.generate_otp(step), code):
            return step
    return None


def _take_step(session: Session, operator: Operator, step: int) -> bool:
    """Keep the step as the last taken, unless another try took it (or a later one) first:
    of two tries of one code sent at once, one gets in."""
    result = session.execute(
        sa.update(Operator)
        .where(Operator.id == operator.id,
               sa.or_(Operator.totp_last_step.is_(None), Operator.totp_last_step < step))
        .values(totp_last_step=step))
    return bool(getattr(result, "rowcount", 0))


def _recovery_code() -> str:
    raw = secrets.token_hex(5)  # 40 bits, once each: enough against a limited guess
    return f"{raw[:5]}-{raw[5:]}"


def _digest(code: str) -> str:
    normal = "".join(code.lower().split()).replace("-", "")
    return hashlib.sha256(normal.encode()).hexdigest()


def _spend_recovery_code(session: Session, operator: Operator, code: str) -> bool:
    """Spend the code if it is one of the person's, unless another try spent it first."""
    stored = operator.recovery_codes or ""
    left = stored.split("\n")
    digest = _digest(code)
    if not code.strip() or not any(hmac.compare_digest(digest, known) for known in left):
        return False
    result = session.execute(
        sa.update(Operator)
        .where(Operator.id == operator.id, Operator.recovery_codes == stored)
        .values(recovery_codes="\n".join(known for known in left if known != digest)))
    return bool(getattr(result, "rowcount", 0))
