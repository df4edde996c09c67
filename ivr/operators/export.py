"""The supervisors' CSV export: every callback request, never its number; audited. Times
are the desk's (DESK_TIMEZONE), each with its offset from UTC, so a spreadsheet at the desk
reads them as the page does and nothing is ambiguous."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.models import CallbackRequest
from ivr.operators import audit, desk_time
from ivr.operators.audit import Actor

COLUMNS = ("reference", "language", "reason", "priority", "status", "outcome",
           "created_at", "updated_at", "closed_at", "calls_from_them",
           "callback_attempts", "may_identify", "safe_window", "has_message")
FILE_NAME = "callback-requests.csv"


def requests_csv(session: Session, by: Actor, at: datetime, time_zone: str) -> str:
    audit.record_by(session, by, at, "export", detail="requests.csv")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    rows = session.scalars(sa.select(CallbackRequest).order_by(CallbackRequest.id)
                           .execution_options(yield_per=1000))
    for row in rows:
        writer.writerow(_row(row, time_zone))
    return out.getvalue()


def _row(row: CallbackRequest, time_zone: str) -> list[object]:
    def shown(at: datetime | None) -> str:
        return desk_time.local(at, time_zone).isoformat() if at is not None else ""

    return [row.reference, row.language, row.reason, row.priority, row.status,
            row.outcome or "", shown(row.created_at), shown(row.updated_at),
            shown(row.closed_at), row.attempts,
            row.callback_attempts, row.may_identify, row.safe_window or "",
            row.recording_sid is not None]
