"""A supervisor takes a request from the person who holds it: back to the queue, or to
another operator who speaks its language (who then holds it, with a fresh claim).

Each is one conditional UPDATE that succeeds only while the person the supervisor saw still
holds the request, so a form opened before someone else claimed, released or closed it
changes nothing and says so; the holder it was taken from finds it "not yours now" at their
next step (claims.mine). Both are written to the audit log: by whom, which request, from
whom and to whom.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.models import CallbackRequest, Operator
from ivr.operators import audit, claims
from ivr.operators.audit import Actor
from ivr.operators.identity import Staff

Why = Literal["closed", "free", "moved", "ineligible", "same", "not_supervisor"]


class Refused(Exception):
    """Nothing was changed: the request is closed or nobody holds it now (`closed`,
    `free`), someone other than the person on the form holds it (`moved`), or the chosen
    operator cannot take it (`ineligible`) or holds it already (`same`)."""

    def __init__(self, why: Why) -> None:
        super().__init__(why)
        self.why = why


@dataclass(frozen=True)
class Candidate:
    id: int
    name: str
    login: str


@dataclass(frozen=True)
class Holding:
    """Who holds a request now, until when, and who else could take it."""

    holder_id: int
    holder_name: str
    until: datetime
    candidates: list[Candidate]


def holding(session: Session, request: CallbackRequest, now: datetime,
            claim_minutes: int) -> Holding | None:
    """What a supervisor sees on a held request's page; None when nobody holds it."""
    if (request.status != "open" or request.claimed_by is None or request.claimed_at is None
            or not claims.held(request, now, claim_minutes)):
        return None
    holder = session.get_one(Operator, request.claimed_by)
    until = request.claimed_at + timedelta(minutes=claim_minutes)
    return Holding(holder.id, holder.name, until,
                   [Candidate(person.id, person.name, person.login)
                    for person in eligible(session, request.language)
                    if person.id != holder.id])


def eligible(session: Session, language: str) -> list[Operator]:
    """Active accounts that take the language, by name."""
    people = session.scalars(sa.select(Operator).where(Operator.active.is_(True))
                             .order_by(Operator.name, Operator.id))
    return [person for person in people if language in person.language_codes]


def release(session: Session, staff: Staff, by: Actor, request_id: int, holder_id: int,
            now: datetime, claim_minutes: int) -> CallbackRequest:
    """Back to the queue, in its old place, from the holder the supervisor saw."""
    request = _as_supervisor(session, staff, request_id)
    holder = _moved(session, request, holder_id, None, now, claim_minutes)
    audit.record_by(session, by, now, "release", request_id=request.id,
                    detail=f"from {holder.login}")
    return request


def reassign(session: Session, staff: Staff, by: Actor, request_id: int, holder_id: int,
             to_id: int, now: datetime, claim_minutes: int) -> Operator:
    """To another active operator who takes the request's language; they hold it from now,
    for a whole claim. Returns them."""
    request = _as_supervisor(session, staff, request_id)
    target = session.get(Operator, to_id)
    if target is None or not target.active or request.language not in target.language_codes:
        raise Refused("ineligible")
    if target.id == holder_id:
        raise Refused("same")
    holder = _moved(session, request, holder_id, target.id, now, claim_minutes)
    audit.record_by(session, by, now, "reassign", request_id=request.id,
                    detail=f"from {holder.login} to {target.login}")
    return target


def _as_supervisor(session: Session, staff: Staff, request_id: int) -> CallbackRequest:
    if not staff.supervisor:
        raise Refused("not_supervisor")
    return claims.visible(session, staff, request_id)


def _moved(session: Session, request: CallbackRequest, holder_id: int, to_id: int | None,
           now: datetime, claim_minutes: int) -> Operator:
    """Take the request from `holder_id` (to `to_id`, or to nobody) if they still hold it;
    else Refused, saying what happened meanwhile. Returns the person it was taken from."""
    holder = session.get(Operator, holder_id)
    result = session.execute(
        sa.update(CallbackRequest)
        .where(CallbackRequest.id == request.id, CallbackRequest.status == "open",
               CallbackRequest.claimed_by == holder_id,
               CallbackRequest.claimed_at > claims.lapse_before(now, claim_minutes))
        .values(claimed_by=to_id, claimed_at=now if to_id is not None else None)
        .execution_options(synchronize_session=False))
    session.expire(request)
    if holder is None or cast("sa.CursorResult[Any]", result).rowcount != 1:
        raise Refused(_what_happened(request, now, claim_minutes))
    return holder


def _what_happened(request: CallbackRequest, now: datetime, claim_minutes: int) -> Why:
    if request.status != "open":
        return "closed"
    return "moved" if claims.held(request, now, claim_minutes) else "free"
