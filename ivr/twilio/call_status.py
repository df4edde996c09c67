"""Twilio's call statuses, in the order a call moves through them.

Status callbacks come late, twice and out of order: a state only ever moves forward.
"""

from __future__ import annotations

# The terminal states share the last rank.
STATUS_RANK = {"queued": 1, "initiated": 2, "ringing": 3, "in-progress": 4, "completed": 5,
               "busy": 5, "failed": 5, "no-answer": 5, "canceled": 5}
TERMINAL_RANK = 5


def ended(status: str | None) -> bool:
    return STATUS_RANK.get(status or "", 0) == TERMINAL_RANK


def moved_forward(current: str | None, reported: str) -> str | None:
    """The status after a report: the reported one, unless the call is already past it."""
    if reported not in STATUS_RANK:
        return current
    if current is not None and STATUS_RANK.get(current, 0) >= STATUS_RANK[reported]:
        return current
    return reported
