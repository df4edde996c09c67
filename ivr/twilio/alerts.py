"""Twilio's alerts (its Debugger webhook): an error such as 11200 or 12100 is logged and kept
the moment it happens, so supervisors see it on their page.

Twilio sends `Sid`, `AccountSid`, `Timestamp`, `Level`, `PayloadType` and `Payload`, a JSON
document with the error code and the request that failed. The request may hold a caller's
number, so only the error code, the failing URL and Twilio's message are kept, with anything
that looks like a phone number masked.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ivr.database import page_within, unit_of_work, upsert
from ivr.models import TwilioAlert
from ivr.operations import metrics
from ivr.operations.logs import redact
from ivr.twilio.webhook_request import SID

log = logging.getLogger("ivr.alerts")
LEVELS = ("ERROR", "WARNING", "NOTICE", "DEBUG")


@dataclass(frozen=True)
class Alert:
    sid: str
    level: str
    error_code: str | None
    resource_sid: str | None
    url: str | None
    message: str | None
    at: datetime


def alert_from(params: dict[str, str], received: datetime) -> Alert | None:
    """The alert in a Debugger webhook's parameters, cleaned; None if it is not one."""
    sid = params.get("Sid", "")
    if not SID.fullmatch(sid):
        return None
    payload = _payload(params.get("Payload", ""))
    more_info = _mapping(payload.get("more_info"))
    request = _mapping(_mapping(payload.get("webhook")).get("request"))
    level = params.get("Level", "").upper()
    resource_sid = str(payload.get("resource_sid") or "")
    return Alert(
        sid=sid,
        level=level if level in LEVELS else "ERROR",
        error_code=_clean(payload.get("error_code") or more_info.get("ErrorCode"), 16),
        resource_sid=resource_sid if SID.fullmatch(resource_sid) else None,
        url=_clean(more_info.get("url") or request.get("url"), 500),
        message=_clean(more_info.get("Msg") or more_info.get("msg"), 500),
        at=_timestamp(params.get("Timestamp", "")) or received,
    )


def _payload(raw: str) -> dict[str, Any]:
    try:
        return _mapping(json.loads(raw))
    except ValueError:
        return {}


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _clean(value: object, length: int) -> str | None:
    if value is None or value == "":
        return None
    return redact(str(value))[:length]


def _timestamp(raw: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def receive(engine: Engine, params: dict[str, str], received: datetime) -> None:
    """A Debugger webhook: log the alert it carries and keep it for the supervisors."""
    alert = alert_from(params, received)
    if alert is None:
        log.warning("twilio alert without a Sid ignored")
        return
    metrics.count_alert(alert.level, alert.error_code)
    log.log(logging.ERROR if alert.level == "ERROR" else logging.WARNING, "twilio alert",
            extra={"alert_sid": alert.sid, "level": alert.level, "error_code": alert.error_code,
                   "call_sid": alert.resource_sid, "url": alert.url, "twilio_message":
                   alert.message})
    with unit_of_work(engine) as session:
        keep(session, alert, received)


def keep(session: Session, alert: Alert, received: datetime) -> None:
    """Store an alert; Twilio's redelivery of the same one changes nothing."""
    connection = session.connection()
    connection.execute(upsert(connection, TwilioAlert.__table__).values(
        sid=alert.sid, level=alert.level, error_code=alert.error_code,
        resource_sid=alert.resource_sid, url=alert.url, message=alert.message, at=alert.at,
        received_at=received).on_conflict_do_nothing(index_elements=["sid"]))


def recent_alerts(session: Session, limit: int = 20, offset: int = 0) -> list[TwilioAlert]:
    """The newest alerts first."""
    query = sa.select(TwilioAlert).order_by(TwilioAlert.at.desc(), TwilioAlert.id.desc())
    return list(session.scalars(query.limit(limit).offset(offset)))


@dataclass(frozen=True)
class AlertPage:
    alerts: list[TwilioAlert]
    page: int
    pages: int
    total: int


def alerts_page(session: Session, page: int, page_size: int = 50) -> AlertPage:
    """One page of the kept alerts, newest first, for the supervisors' page; a page past the
    last shows the last."""
    total = session.scalar(sa.select(sa.func.count()).select_from(TwilioAlert)) or 0
    page, pages = page_within(page, total, page_size)
    return AlertPage(recent_alerts(session, page_size, (page - 1) * page_size), page, pages,
                     total)


def alerts_since(session: Session, since: datetime) -> int:
    """How many alerts Twilio raised since then, for the figures page's reminder."""
    return session.scalar(sa.select(sa.func.count()).select_from(TwilioAlert)
                          .where(TwilioAlert.at >= since)) or 0
