"""Logs as JSON lines on standard error, with phone numbers masked even where we slipped.

Code logs numbers masked (`phones.mask`) on purpose. The formatter also masks anything in
a message, a field or a traceback that looks like a phone number, however it is spelt (glued
to letters, grouped any way, %-encoded in a URL, escaped in JSON), because one unmasked
number in a log is a leak of someone who may be hiding. Twilio's alerts are masked the same
way before they are stored.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

# What may stand between a number's digit groups: up to three spaces, dashes (Unicode ones
# too), dots, slashes, brackets, underscores or pluses (a space in a form-encoded query), but
# not a + between a space and a digit: that starts another number (`error 11200 +7916…`).
_GAP_CHAR = r"[\s./()_\-\u2010-\u2015\u2212]"
_GAP = rf"(?:{_GAP_CHAR}|\+(?!\d)|(?<!\s)\+){{1,3}}"
_NEAR = r"[\s./()_+\-\u2010-\u2015\u2212]"
# A phone number: digit groups joined by gaps, glued to letters or not (`caller_79161234567`,
# `+79161234567abc`). One with MIN_DIGITS digits or more is masked.
PHONE_LIKE = re.compile(rf"(?=[+\d])\+?\d+(?:{_GAP}\d+)*")
MIN_DIGITS = 7
_DIGIT = re.compile(r"\d")
# Possessive (`*+`): a text without enough digits fails at once instead of backtracking
# through every split of its letters (three times faster on a webhook's path or outcome).
_ENOUGH_DIGITS = re.compile(rf"(?:\D*+\d){{{MIN_DIGITS}}}")

# Digit groups that must stay readable. A date, a time or an address counts only standing
# alone: one joined by a gap to more digits may be the end of a phone number. A decimal has no
# exception (9161.234567s may be a number with a letter glued on): one of 7 digits or more is
# masked like a number.
_ALONE_BEFORE = rf"(?<![\d+])(?<!\d{_NEAR})(?<!\d{_NEAR}{{2}})(?<!\d{_NEAR}{{3}})"
_ALONE_AFTER = rf"(?!{_GAP}?\d)"
_HEX = "[0-9a-fA-F]"
_IDENTIFIER = (  # a Twilio SID (CA…, RE…, AC…), a UUID, or a digest in hex with a letter in it
    rf"(?<![0-9A-Za-z])(?:[A-Z]{{2}}{_HEX}{{32}}|{_HEX}{{8}}(?:-{_HEX}{{4}}){{3}}-{_HEX}{{12}}"
    rf"|(?=\d*[a-fA-F])(?:{_HEX}{{64}}|{_HEX}{{40}}|{_HEX}{{32}}))(?![0-9A-Za-z])")
_TIME = r"\d{1,3}:[0-5]\d(?::[0-5]\d(?:[.,]\d{1,9})?)?"
_ZONE = r"(?:Z|\s?[+-][01]\d:?[0-5]\d)?"
_DATE = (r"(?:19|20)\d\d(?:-[01]\d-[0-3]\d|/[01]\d/[0-3]\d|\.[01]\d\.[0-3]\d)"
         rf"(?:[T\s+]{_TIME}{_ZONE})?")
_DAY_FIRST = rf"[0-3]?\d(?:\.[01]?\d\.|/[0-3]?\d/|-[01]?\d-)(?:19|20)\d\d(?:\s{_TIME})?"
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# An IPv4 address with a port or in a URL: a bare 50.123.45.67 is how a Ukrainian mobile
# number without its 0 is written.
_IP = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_ADDRESS = rf"(?:(?:(?<=//)|(?<=@)){_IP}|{_IP}(?=:\d))"
_READABLE = re.compile(  # (the lookaheads first, which fail fast, keep it quick)
    rf"(?=[\dA-Za-z])(?:{_IDENTIFIER}|(?=\d){_ALONE_BEFORE}"
    rf"(?:{_DATE}|{_DAY_FIRST}|{_ADDRESS}|{_TIME}{_ZONE}){_ALONE_AFTER})")

# Escapes a number may hide behind, decoded in a copy before looking: %2B7916… in a URL (and
# %C2%A0, a gap in UTF-8), %252B… in a URL inside a URL, \u002B7916… in JSON (\\u002B in JSON
# inside JSON). Only what a number is written with is decoded (digits, +, gaps, and the % and \
# of an escape escaped again), so the copy never loses a digit the text shows, as 7916%41234567
# would if %41 were read as A.
_CONTINUED = "%[89ABab][0-9A-Fa-f]"
_ESCAPE = re.compile(
    rf"(%[0-7][0-9A-Fa-f]|%[CDcd][0-9A-Fa-f]{_CONTINUED}|%[Ee][0-9A-Fa-f](?:{_CONTINUED}){{2}}"
    rf"|%[Ff][0-7](?:{_CONTINUED}){{3}}|%[89A-Fa-f][0-9A-Fa-f])|\\u([0-9A-Fa-f]{{4}})|\\([\\/])")
_ESCAPED = re.compile(rf"[\d+%\\:]|{_GAP_CHAR}")
_ESCAPE_DEPTH = 3


def redact(text: str) -> str:
    """The text with anything that may be a phone number masked: `+•••••••••67`."""
    if not _ENOUGH_DIGITS.match(text):
        return text
    decoded, origins = _decoded(text)
    return _mask_numbers(text, decoded, origins)


def _mask_numbers(text: str, decoded: str, origins: list[int] | None) -> str:
    """`text` with each number found in `decoded`, its decoded copy, masked; the copy's i-th
    character was written as text[origins[i]:origins[i + 1]] (as text[i] if no origins)."""
    if not any(map(_long_enough, PHONE_LIKE.finditer(decoded))):
        return text
    pieces: list[str] = []
    done = 0
    for start, end in _not_readable(decoded):
        for match in filter(_long_enough, PHONE_LIKE.finditer(decoded, start, end)):
            first, last = match.span() if origins is None else (
                origins[match.start()], origins[match.end()])
            pieces += text[done:first], _mask_match(match)
            done = last
    return "".join([*pieces, text[done:]]) if pieces else text


def _long_enough(match: re.Match[str]) -> bool:
    return len(_DIGIT.findall(match.group(0))) >= MIN_DIGITS


def _not_readable(text: str) -> Iterator[tuple[int, int]]:
    """The stretches of text between the SIDs, dates, times and addresses in it."""
    start = 0
    for readable in _READABLE.finditer(text):
        yield start, readable.start()
        start = readable.end()
    yield start, len(text)


def _mask_match(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = _DIGIT.findall(found)
    return "+" * found.startswith("+") + "•" * (len(digits) - 2) + "".join(digits[-2:])


def _decoded(text: str) -> tuple[str, list[int] | None]:
    """The text with its escapes decoded, up to _ESCAPE_DEPTH times, and where each character
    of it (and its end) is in the text; no places when there was nothing to decode."""
    decoded, origins = text, None
    for _ in range(_ESCAPE_DEPTH):
        once = _decoded_once(decoded)
        if once is None:
            break
        decoded, places = once
        origins = places if origins is None else [origins[place] for place in places]
    return decoded, origins


def _decoded_once(text: str) -> tuple[str, list[int]] | None:
    pieces: list[str] = []
    places: list[int] = []
    done = 0
    for escape in _ESCAPE.finditer(text):
        character = _unescaped(escape)
        if not _ESCAPED.fullmatch(character):
            continue
        pieces += text[done:escape.start()], character
        places += range(done, escape.start() + 1)
        done = escape.end()
    if not pieces:
        return None
    pieces.append(text[done:])
    places += range(done, len(text) + 1)
    return "".join(pieces), places


def _unescaped(escape: re.Match[str]) -> str:
    percent, json_code, slash = escape.groups()
    if percent:
        encoded = bytes.fromhex(percent.replace("%", ""))
        return encoded.decode("utf-8", "replace") if len(encoded) > 1 else chr(encoded[0])
    return chr(int(json_code, 16)) if json_code else slash


# A field that is exactly a Twilio SID (most lines carry one) is readable as it is: looking
# through its 32 hex digits for a number would cost more than the rest of the line.
_WHOLE_SID = re.compile(r"[A-Z]{2}[0-9a-f]{32}")
# What every LogRecord has; anything else on a record was passed in `extra` and is a field.
_OWN = vars(logging.LogRecord("", 0, "", 0, "", (), None))
_RECORD_ATTRIBUTES = frozenset(_OWN) | {"message", "asctime", "taskName"}
# A record's own attributes are set first, `extra` after them (Logger.makeRecord): the fields
# are looked for past them, not among the twenty-odd every record has.
_FIELDS_START = len(_OWN)
# One encoder for every line: json.dumps with options builds a new one each time.
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


class RedactingJsonFormatter(logging.Formatter):
    """A JSON object per line: time, level, logger, message and every `extra` field, with
    anything that may be a phone number masked (in the message, the fields, a traceback).

    Written for the webhooks' pace: one line per webhook is most of what logging costs them,
    so the time's text is made once a second and SIDs are not searched for numbers.
    """

    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str] = (-1, "")  # one tuple, so threads never see half of it

    def format(self, record: logging.LogRecord) -> str:
        fields = ((key, value) for key, value in islice(vars(record).items(), _FIELDS_START, None)
                  if key not in _RECORD_ATTRIBUTES and not key.startswith("_"))
        line = self._line(record.created, record.levelname, record.name, record.getMessage(),
                          fields)
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = redact(record.exc_text)
        if record.stack_info:
            line["stack_info"] = redact(self.formatStack(record.stack_info))
        return _ENCODE(line)

    def format_fields(self, created: float, level: str, logger: str, message: str,
                      fields: dict[str, Any]) -> str:
        """The line `format` makes of a record with these `extra` fields, without one."""
        return _ENCODE(self._line(created, level, logger, message, fields.items()))

    def _line(self, created: float, level: str, logger: str, message: str,
              fields: Iterable[tuple[str, Any]]) -> dict[str, Any]:
        line: dict[str, Any] = {"time": self._time(created), "level": level, "logger": logger,
                                "message": redact(message)}
        for key, value in fields:
            line[key] = _redact_value(value)
        return line

    def _time(self, created: float) -> str:
        second, text = self._second
        if second != int(created):
            second = int(created)
            text = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))
            self._second = (second, text)
        return f"{text},{int((created - second) * 1000):03d}"


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return value if _WHOLE_SID.fullmatch(value) else redact(value)
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

    def write_line(self, line: str) -> None:
        """What `emit` does with a record's formatted line."""
        with self.lock:  # type: ignore[union-attr]
            stream = self.stream
            stream.write(line + self.terminator)
            stream.flush()


def info_fields(logger: logging.Logger, message: str, fields: dict[str, Any]) -> None:
    """`logger.info(message, extra=fields)`: the same line, written at once when it would go
    only to our JSON handler on stderr, as `configure` sets logging up. A webhook logs a line
    each, and under load logging's own way there (a record, the caller's frame looked up, the
    handlers' chain) cost 35-40 µs of a webhook's 550. Where anything else would see the
    record (a filter, another handler), it goes through logging."""
    if not logger.isEnabledFor(logging.INFO):
        return
    handler = _only_handler(logger)
    if handler is None:
        logger.info(message, extra=fields)
        return
    formatter = handler.formatter
    assert isinstance(formatter, RedactingJsonFormatter)
    try:
        handler.write_line(formatter.format_fields(time.time(), "INFO", logger.name, message,
                                                   fields))
    except Exception:
        # As a handler that fails to emit: said on stderr, and the webhook carries on.
        handler.handleError(logger.makeRecord(logger.name, logging.INFO, "", 0, message, (),
                                              None, extra=fields))


def _only_handler(logger: logging.Logger) -> StderrHandler | None:
    """The handler an INFO record of `logger` would reach, when it is our JSON one alone and
    nothing on the way filters."""
    handlers: list[logging.Handler] = []
    current: logging.Logger | None = logger
    while current is not None:
        if current.filters:
            return None
        handlers += current.handlers
        if not current.propagate:
            break
        current = current.parent
    if len(handlers) != 1:
        return None
    [handler] = handlers
    if (type(handler) is not StderrHandler or handler.filters or handler.level > logging.INFO
            or not isinstance(handler.formatter, RedactingJsonFormatter)):
        return None
    return handler


def configure(level: str) -> None:
    """JSON lines on stderr for the app's loggers; gunicorn and the CLI keep their own."""
    handler = StderrHandler()
    handler.setFormatter(RedactingJsonFormatter())
    logger = logging.getLogger("ivr")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
