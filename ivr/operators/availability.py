"""Whether a caller can reach an operator now: the surge switch, the hours, and whether
anyone of the language is on duty and available (ivr/operators/presence.py)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.database import unit_of_work, upsert
from ivr.menu.menu_file import Menu
from ivr.models import Surge, utcnow
from ivr.operators import audit, presence
from ivr.operators.audit import Actor

if TYPE_CHECKING:
    from ivr.services import Hotline

log = logging.getLogger(__name__)

Availability = Literal["surge", "closed", "nobody", "open"]
# Why a caller is offered the callback request instead of an operator.
REASON = {"surge": "surge", "closed": "out_of_hours", "nobody": "no_operator"}


def availability(session: Session, menu: Menu, language: str, now: datetime,
                 can_ring: bool = True) -> Availability:
    if surge_on(session, language):
        return "surge"
    if not menu.desk.open_at(language, now):
        return "closed"
    if not can_ring or not presence.staffed(session, language):
        return "nobody"
    return "open"


def availability_now(hotline: Hotline, language: str) -> Availability | None:
    """For a caller on the line; None when the database cannot say, so that the caller
    keeps waiting rather than being dropped."""
    try:
        with unit_of_work(hotline.engine) as session:
            return availability(session, hotline.menu, language, hotline.clock.now(),
                                can_ring=hotline.settings.hotline_number is not None)
    except Exception:
        log.exception("could not check who is on duty", extra={"lang": language})
        return None


def surge_on(session: Session, language: str) -> bool:
    return bool(session.scalar(sa.select(Surge.active).where(Surge.language == language)))


def set_surge(session: Session, language: str, active: bool, by: str) -> None:
    values = {"active": active, "changed_at": utcnow(), "changed_by": by}
    statement = upsert(session.connection(), Surge.__table__).values(language=language, **values)
    session.execute(statement.on_conflict_do_update(index_elements=["language"], set_=values))


def switch_surge(session: Session, by: Actor, at: datetime, language: str,
                 active: bool) -> None:
    set_surge(session, language, active, by=by.login)
    audit.record_by(session, by, at, "surge", detail=f"{language} {'on' if active else 'off'}")


def surges(session: Session) -> dict[str, bool]:
    return {row.language: row.active for row in session.scalars(sa.select(Surge))}
