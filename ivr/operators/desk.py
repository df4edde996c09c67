"""Whether a caller can reach an operator now: the surge switch, the hours, who is on duty."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.database import upsert
from ivr.menu import Menu
from ivr.models import Operator, Surge, utcnow

Availability = Literal["surge", "closed", "nobody", "open"]
# Why a caller is offered the callback request instead of an operator.
REASON = {"surge": "surge", "closed": "out_of_hours", "nobody": "no_operator"}


def availability(session: Session, menu: Menu, language: str, now: datetime,
                 can_ring: bool = True) -> Availability:
    if surge_on(session, language):
        return "surge"
    if not menu.desk.open_at(language, now):
        return "closed"
    if not can_ring or not on_duty(session, language):
        return "nobody"
    return "open"


def on_duty(session: Session, language: str) -> list[Operator]:
    operators = session.scalars(sa.select(Operator).where(
        Operator.on_duty.is_(True), Operator.active.is_(True)))
    return [operator for operator in operators if language in operator.language_codes]


def surge_on(session: Session, language: str) -> bool:
    return bool(session.scalar(sa.select(Surge.active).where(Surge.language == language)))


def set_surge(session: Session, language: str, active: bool, by: str) -> None:
    values = {"active": active, "changed_at": utcnow(), "changed_by": by}
    statement = upsert(session.connection(), Surge.__table__).values(language=language, **values)
    session.execute(statement.on_conflict_do_update(index_elements=["language"], set_=values))


def surges(session: Session) -> dict[str, bool]:
    return {row.language: row.active for row in session.scalars(sa.select(Surge))}
