"""Numbers are masked for people and logs, and hidden numbers read as withheld."""

from __future__ import annotations

import io
import json
import logging
import sys

import phonenumbers
import pytest
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr import phones
from ivr.operations.logs import configure, info_fields, redact
from tests.support import signed_post, twilio_params


@pytest.mark.parametrize(("raw", "e164"), [
    ("+79161234567", "+79161234567"),
    ("+380 50 123 45 67", "+380501234567"),
    ("anonymous", None),
    ("unknown", None),
    ("+266696687", None),  # "anonymous" spelt on a keypad
    ("client:operator", None),
    ("sip:someone@example.org", None),
    ("", None),
    (None, None),
    ("+7" + "9" * 40, None),
])
def test_caller_id_is_a_number_or_withheld(raw: str | None, e164: str | None) -> None:
    assert phones.normalise(raw) == e164


@pytest.mark.parametrize(("e164", "masked"), [
    ("+79161234567", "+7916•••••67"),
    ("+380501234567", "+3805••••••67"),
    ("+12025550123", "+1202•••••23"),
    (None, "withheld"),
])
def test_numbers_are_masked_for_logs(e164: str | None, masked: str) -> None:
    assert phones.mask(e164) == masked


def test_anything_that_looks_like_a_number_is_masked_in_a_log_line() -> None:
    line = "caller +7 916 123-45-67 and 380501234567 on CAaaaa1234567890bbbbcccc1234567890"

    assert redact(line) == ("caller +•••••••••67 and ••••••••••67 on "
                            "CAaaaa1234567890bbbbcccc1234567890")


def test_short_numbers_in_a_log_line_are_left_alone() -> None:
    assert redact("took 1234 ms, node 3, try 2") == "took 1234 ms, node 3, try 2"


def test_a_webhooks_line_is_the_line_logging_itself_would_write(
        capsys: pytest.CaptureFixture[str]) -> None:
    # Webhooks write their line straight to our handler (logs.info_fields); what an engineer
    # reads is what logger.info would have written, numbers masked the same way.
    configure("INFO")
    log = logging.getLogger("ivr.voice")
    fields = {"path": "/voice/menu/input", "call_sid": "CA" + "0" * 32, "node": "main",
              "lang": "ru", "outcome": "error 11200 +79161234567", "ms": 1.25,
              "caller": "+7916•••••67"}
    info_fields(log, "webhook", fields)
    log.info("webhook", extra=fields)

    straight, through_logging = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert straight.pop("time")[:16] == through_logging.pop("time")[:16]
    assert straight == through_logging
    assert straight["outcome"] == "error 11200 +•••••••••67"


def test_a_webhooks_line_goes_through_logging_where_something_else_would_see_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    configure("INFO")
    log = logging.getLogger("ivr.voice")
    seen: list[logging.LogRecord] = []

    class Watching(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    watching = Watching()
    logging.getLogger("ivr").addHandler(watching)
    try:
        info_fields(log, "webhook", {"path": "/voice/incoming"})
    finally:
        logging.getLogger("ivr").removeHandler(watching)
    [record] = seen
    assert record.getMessage() == "webhook" and record.__dict__["path"] == "/voice/incoming"
    assert json.loads(capsys.readouterr().err)["path"] == "/voice/incoming"

    log.setLevel(logging.WARNING)
    try:
        info_fields(log, "webhook", {"path": "/voice/incoming"})
    finally:
        log.setLevel(logging.NOTSET)
    assert capsys.readouterr().err == ""


def test_a_caller_is_answered_even_when_the_log_cannot_be_written(
        client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise OSError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stderr", Broken())
    response = signed_post(client, "/voice/incoming", twilio_params(CallStatus="ringing"))

    assert response.status_code == 200
    assert b"<Gather" in response.data


def normalised_by_phonenumbers(raw: str) -> str | None:
    """normalise() as phonenumbers alone would: parse, check, format."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@settings(max_examples=3000, deadline=None)
@given(raw=st.one_of(
    st.from_regex(r"\+[0-9]{1,18}", fullmatch=True),
    st.tuples(st.sampled_from(["+7", "+380", "+375", "+44", "+1", "+39", "+49", "+995", "+7",
                               "+380", "+0", "+00", "+888", "+979", "+262", "+599", "+1684"]),
              st.sampled_from(["", "8", "0", "00", "9", "80", "09"]),
              st.from_regex(r"[0-9]{0,13}", fullmatch=True)).map("".join)))
def test_a_caller_id_of_a_plus_and_digits_reads_as_phonenumbers_reads_it(raw: str) -> None:
    # The call log's writer parses every caller's number: a + and digits (how Twilio sends
    # one) take a shorter way through phonenumbers, to the same number or to none.
    expected = None if phones.hidden(raw) else normalised_by_phonenumbers(raw)
    assert phones.normalise(raw) == expected


def example_numbers() -> list[str]:
    """A number of every kind phonenumbers knows in every region, and the calling codes that
    have no region: each as sent, and with its last digit changed, one digit more and one
    less (valid, or not, in the ways a real caller ID may be)."""
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(example)
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        example = phonenumbers.example_number_for_non_geo_entity(code)
        if example is not None:
            numbers.append(example)
    sent = [phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            for number in numbers]
    return sorted({variant for raw in sent for variant in (
        raw, raw[:-1] + str((int(raw[-1]) + 3) % 10), raw + "5", raw[:-1])})


def test_every_kind_of_number_in_every_region_reads_as_phonenumbers_reads_it() -> None:
    # Random digits are seldom a valid number: these are, or nearly, in every region phonenumbers
    # knows (shared calling codes such as +1, +7 and +44 among them), so that the call log's
    # check of a caller's number, phonenumbers' own steps asked in another order, is held to
    # phonenumbers' answer where it matters.
    numbers = example_numbers()
    assert len(numbers) > 4000
    differ = [raw for raw in numbers if phones.normalise(raw) != normalised_by_phonenumbers(raw)]
    assert differ == []
    assert sum(phones.normalise(raw) is not None for raw in numbers) > 2000  # valid ones too
