"""Logs as JSON lines on standard error, with phone numbers masked even where we slipped.

Code logs numbers masked (`phones.mask`) on purpose. The formatter also masks anything in
a message, a field or a traceback that looks like a phone number, because one unmasked
number in a log is a leak of someone who may be hiding.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

# A run of 7+ digits, optionally with + and separators, not glued to letters or digits
# (so a CallSid's hex is left alone).
PHONE_LIKE = re.compile(r"(?<![\w+])\+?\d(?:[\d\s().\-]{5,20})\d(?!\w)")


def redact(text: str) -> str:
    return PHONE_LIKE.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = re.sub(r"\D", "", found)
    if len(digits) < 7:
        return found
    return "+" * found.startswith("+") + "•" * (len(digits) - 2) + digits[-2:]


class RedactingJsonFormatter(JsonFormatter):
    def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
        return {key: _redact_value(value) if key not in ("time", "level") else value
                for key, value in log_data.items()}


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    return value


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (gunicorn and tests replace it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure(level: str) -> None:
    """JSON lines on stderr for the app's loggers; gunicorn and the CLI keep their own."""
    handler = StderrHandler()
    handler.setFormatter(RedactingJsonFormatter(
        "{asctime}{levelname}{name}{message}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False,
        json_ensure_ascii=False,
    ))
    logger = logging.getLogger("ivr")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
