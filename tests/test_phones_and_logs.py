"""Numbers are masked for people and logs, and hidden numbers read as withheld."""

from __future__ import annotations

import pytest

from ivr import phones
from ivr.operations.logs import redact


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
