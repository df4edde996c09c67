"""A caller's number is masked in a log line or a stored alert however it is spelt (in a URL,
in JSON, glued to letters, grouped any way), and what must stay readable beside it does:
SIDs, timestamps, dates, error codes."""

from __future__ import annotations

import itertools
import json
import re
import string
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlencode

import phonenumbers
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from ivr.database import db
from ivr.operations.logs import redact
from ivr.twilio.alerts import recent_alerts
from tests.support import BASE_URL, CALL_SID, CALLER, HOTLINE, signed_post

ACCOUNT_SID = "AC" + "fedcba9876543210" * 2


@pytest.mark.parametrize(("line", "masked"), [
    ("+79161234567", "+•••••••••67"),
    ("caller_79161234567", "caller_•••••••••67"),
    ("+79161234567abc", "+•••••••••67abc"),
    ("tel:+7-916-123-45-67", "tel:+•••••••••67"),
    ("+7/916/123/45/67", "+•••••••••67"),
    ("8 (916) 123.45.67", "•••••••••67"),
    ("+7\u2011916\u2011123\u201145\u201167", "+•••••••••67"),
    ("From=%2B79161234567&To=%2b380501234567", "From=+•••••••••67&To=+••••••••••67"),
    ("From=+7+916+123+45+67&Digits=1", "From=+•••••••••67&Digits=1"),
    ("%2B7%20%28916%29%20123%2D45%2D67", "+•••••••••67"),
    ("url=https%3A%2F%2Fivr.example.org%3FFrom%3D%252B79161234567", "url=https%3A%2F%2Fivr."
     "example.org%3FFrom%3D+•••••••••67"),
    ('{"From": "\\u002B79161234567"}', '{"From": "+•••••••••67"}'),
    ("%37%39%31%36%31%32%33%34%35%36%37", "•••••••••67"),
    ("error 11200, ref 123456: +79161234567", "error 11200, ref 123456: +•••••••••67"),
])
def test_a_number_is_masked_however_it_is_spelt(line: str, masked: str) -> None:
    assert redact(line) == masked


@pytest.mark.parametrize("line", [
    f"call {CALL_SID} of {ACCOUNT_SID}, recording RE{'9' * 32}",
    "at 2026-11-30T12:00:00+00:00, 2026-11-30T12:00:00.123456Z and 2026-11-30 12:00:00,123",
    "ApiVersion=2010-04-01&Timestamp=2026-11-30T12%3A00%3A00%2B00%3A00",
    "on 30.11.2026, 11/30/2026 or 2026/11/30, after 00:01:23.456789",
    "error 11200, HTTP 502, port 5432, ref 123456, took 1234 ms, 12.5 s",
    "postgresql://ivr@192.168.100.200:5432/ivr",
    "idempotency 123e4567-e89b-12d3-a456-426614174000",
])
def test_what_must_stay_readable_does(line: str) -> None:
    assert redact(line) == line


def test_a_date_glued_to_more_digits_is_masked_as_a_number() -> None:
    assert redact("+7 916 2012-05-17") == "+••••••••••17"


# Real numbers of the countries our callers call from, and random ones with their calling codes.
REGIONS = ("RU", "UA", "BY", "GB", "US")
NATIONAL_LENGTHS = {"7": 10, "380": 9, "375": 9, "44": 10, "1": 10}
EXAMPLES = sorted(
    (str(example.country_code), str(example.national_number))
    for region, kind in itertools.product(REGIONS, (phonenumbers.PhoneNumberType.MOBILE,
                                                    phonenumbers.PhoneNumberType.FIXED_LINE))
    if (example := phonenumbers.example_number_for_type(region, kind)) is not None)
numbers = st.sampled_from(EXAMPLES) | st.sampled_from(sorted(NATIONAL_LENGTHS.items())).flatmap(
    lambda code: st.tuples(st.just(code[0]), st.text(string.digits, min_size=code[1],
                                                     max_size=code[1])))
PLUSES = ["+", "%2B", "%2b", "%252B", "\\u002B", "\\u002b", "tel:+", "00", ""]
TRUNKS = ["", "8", "0"]
GAPS = ["", "", " ", "-", ".", "/", "(", ")", " (", ") ", " - ", "_", "%20", "%2D", "%2E", "%28",
        "%29", "%2F", "\u00a0", "\u2011", "\u2013", "\u2212", "\\u00a0"]
glue = st.text(string.ascii_letters + "_=:ж", max_size=4)
words = st.text(string.ascii_letters + " .:;!?'\"=&%\\/-_жї", max_size=20)
sids = st.tuples(st.sampled_from(["CA", "RE", "AC"]), st.text("0123456789abcdef", min_size=32,
                                                              max_size=32)).map("".join)
moments = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2099, 12, 31),
                       timezones=st.just(UTC))
stamps = st.tuples(moments, st.booleans()).map(
    lambda stamp: stamp[0].isoformat() if stamp[1]
    else stamp[0].strftime("%Y-%m-%d %H:%M:%S,%f")[:-3])
CONTAINERS: list[Callable[[str], str]] = [
    lambda spelt: spelt,
    lambda spelt: quote(spelt),
    lambda spelt: "?" + urlencode({"From": spelt, "To": HOTLINE, "Digits": "1"}),
    lambda spelt: json.dumps({"From": spelt, "Digits": "1"}),
    lambda spelt: json.dumps({"url": f"{BASE_URL}/voice/incoming?" + urlencode({"From": spelt})}),
]
GAP_CHARACTERS = re.compile(r"[\s./()_+\-\u2010-\u2015\u2212]")
JSON_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|\\)")


def grouped(digits: str, sizes: list[int]) -> list[str]:
    """The digits cut in groups of the sizes given, over and over."""
    groups: list[str] = []
    for size in itertools.cycle(sizes):
        if sum(map(len, groups)) >= len(digits):
            break
        groups.append(digits[sum(map(len, groups)):][:size])
    return groups


@st.composite
def spellings(draw: st.DrawFn) -> tuple[str, str]:
    """A number in E.164 and one way of writing it: international or national, in groups."""
    code, national = draw(numbers)
    head = (draw(st.sampled_from(PLUSES)) + code if draw(st.booleans())
            else draw(st.sampled_from(TRUNKS)))
    groups = grouped(national, draw(st.lists(st.integers(1, 4), min_size=1, max_size=5)))
    first, *rest = [head, *groups] if head else groups
    spelt = first + "".join(draw(st.sampled_from(GAPS)) + group for group in rest)
    return "+" + code + national, draw(glue) + spelt + draw(glue)


def traces(e164: str, text: str) -> list[str]:
    """The runs of 7 of the number's digits left in the text, as written, decoded (URL, JSON,
    three times over) and ungrouped."""
    forms = [text]
    for _ in range(3):
        forms.append(JSON_ESCAPE.sub(lambda escape: chr(int(escape[1], 16)) if escape[1] else "\\",
                                     unquote(forms[-1])))
    flat = [GAP_CHARACTERS.sub("", form) for form in forms]
    digits = e164.lstrip("+")
    return [digits[at:at + 7] for at in range(len(digits) - 6)
            if any(digits[at:at + 7] in form for form in flat)]


@settings(max_examples=400, deadline=None)
@given(spelling=spellings(), container=st.sampled_from(CONTAINERS), sid=sids, stamp=stamps,
       around=st.lists(words, max_size=3), delimiter=st.sampled_from([", ", "; ", " | ", "&"]),
       data=st.data())
def test_no_spelling_of_a_number_survives_and_what_is_beside_it_does(
        spelling: tuple[str, str], container: Callable[[str], str], sid: str, stamp: str,
        around: list[str], delimiter: str, data: st.DataObject) -> None:
    e164, spelt = spelling
    parts = data.draw(st.permutations([container(spelt), sid, stamp, "error 11200",
                                       "ref 123456", *around]))

    masked = redact(delimiter.join(parts))

    assert sid in masked and stamp in masked
    assert "error 11200" in masked and "ref 123456" in masked
    left = masked.replace(sid, delimiter).replace(stamp, delimiter)
    assert traces(e164, left) == [], (spelt, masked)


def get_webhook_alert(failed_url: str) -> dict[str, str]:
    """Twilio's Debugger telling that a GET webhook failed: the caller's parameters are in the
    failed URL's query."""
    payload = {
        "resource_sid": CALL_SID, "error_code": "11200",
        "more_info": {"Msg": "HTTP retrieval failure", "ErrorCode": "11200", "LogLevel": "ERROR",
                      "url": failed_url},
        "webhook": {"type": "application/x-www-form-urlencoded", "request": {
            "url": failed_url, "method": "GET", "parameters": {}}},
    }
    return {"Sid": "NO" + "b" * 32, "AccountSid": ACCOUNT_SID,
            "Timestamp": "2026-11-30T12:00:00+00:00", "Level": "ERROR",
            "PayloadType": "application/json", "Payload": json.dumps(payload)}


def test_a_failed_get_webhook_keeps_and_logs_no_trace_of_the_caller(
        app: Flask, client: FlaskClient, capsys: pytest.CaptureFixture[str]) -> None:
    query = urlencode({"CallSid": CALL_SID, "AccountSid": ACCOUNT_SID, "From": CALLER,
                       "To": HOTLINE, "CallStatus": "ringing", "ApiVersion": "2010-04-01"})
    assert "From=%2B79161234567" in query

    response = signed_post(client, "/twilio/debugger",
                           get_webhook_alert(f"{BASE_URL}/voice/incoming?{query}"))

    assert response.status_code == 204
    with app.app_context():
        [kept] = recent_alerts(db.session(), limit=10)
    assert kept.url is not None
    assert f"CallSid={CALL_SID}&AccountSid={ACCOUNT_SID}&From=+•••••••••67" in kept.url
    assert kept.url.endswith("&ApiVersion=2010-04-01")
    stored = " ".join(str(value) for value in vars(kept).values())
    logged = capsys.readouterr().err
    assert '"twilio alert"' in logged and "11200" in logged
    assert traces(CALLER, stored) == [] and traces(CALLER, logged) == []
