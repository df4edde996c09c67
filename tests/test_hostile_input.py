"""Whatever a signed request carries (huge values, control characters, markup, SQL, numbers in
every spelling), every webhook answers valid TwiML or a plain refusal, never a 500, and nothing
from the request becomes markup."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from urllib.parse import parse_qsl, urlencode

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import signed_post, twilio_params

URLENCODED = "application/x-www-form-urlencoded"

TWIML_TAGS = {"Response", "Say", "Play", "Pause", "Gather", "Redirect", "Record", "Enqueue",
              "Leave", "Dial", "Queue", "Number", "Hangup"}
INJECTED = "<Say>injected</Say>"
PARAM_NAMES = [
    "CallSid", "AccountSid", "From", "To", "Digits", "CallStatus", "Direction", "ErrorUrl",
    "ErrorCode", "SequenceNumber", "CallDuration", "Timestamp", "ParentCallSid",
    "QueueResult", "QueuePosition", "QueueTime", "CurrentQueueSize", "DequeingCallSid",
    "DialCallStatus", "DialCallSid", "RecordingSid", "RecordingStatus", "RecordingDuration",
    "RecordingUrl", "Level", "Payload", "PayloadType", "Sid",
]
QUERY_NAMES = ["node", "lang", "try", "err", "reason", "step", "n", "src", "ok", "id", "win",
               "ring"]
hostile_text = st.one_of(
    st.text(max_size=400),
    st.binary(max_size=50).map(lambda raw: raw.decode("latin-1")),
    st.sampled_from([
        "", "anonymous", "unknown", "+266696687", "+79161234567", "+380 50 123 45 67",
        "8 (916) 123-45-67", "0501234567", "00380501234567", "1", "2", "*", "#", "1#",
        "9" * 40, INJECTED, "'; DROP TABLE callback_requests; --", "\x00\x07\r\n",
        "CA" + "f" * 32, "RE" + "0" * 32, "-1", "completed", "ringing", "hangup", "bridged",
        "leave", "Tue, 31 Feb 2026 25:61:00 +0000", "gAAAAABbogus", "ru", "uk", "en",
    ]),
)
params_strategy = st.dictionaries(st.sampled_from(PARAM_NAMES) | st.text(min_size=1, max_size=20),
                                  hostile_text, max_size=14)
query_strategy = st.dictionaries(st.sampled_from(QUERY_NAMES), hostile_text, max_size=6)


def twilio_paths(app: Flask) -> list[str]:
    return sorted(rule.rule for rule in app.url_map.iter_rules()
                  if rule.rule.startswith(("/voice/", "/twilio/")) and "<" not in rule.rule)


def check_answer(status: int, content_type: str, body: bytes) -> None:
    assert status in (200, 204, 400, 403), body[:500]
    if status != 200:
        return
    assert content_type.startswith(("text/xml", "application/xml"))
    document = ET.fromstring(body)
    assert document.tag == "Response"
    for element in document.iter():
        assert element.tag in TWIML_TAGS, element.tag
        assert (element.text or "").strip() != "injected"


def test_the_hostile_requests_reach_every_twilio_webhook(app: Flask) -> None:
    assert {"/voice/incoming", "/voice/callback/input", "/voice/queue/left",
            "/voice/operator/accept", "/voice/status"} <= set(twilio_paths(app))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data(), query=query_strategy, params=params_strategy)
def test_hostile_signed_requests_never_crash_or_inject(app: Flask, data: st.DataObject,
                                                       query: dict[str, str],
                                                       params: dict[str, str]) -> None:
    path = data.draw(st.sampled_from(twilio_paths(app)))
    url = f"{path}?{urlencode(query)}" if query else path
    client = app.test_client()

    response = signed_post(client, url, params)

    check_answer(response.status_code, response.content_type or "", response.data)


def test_the_requests_parameters_read_as_werkzeugs_do_absent_ones_without_an_exception() -> None:
    """The app's parameters (ivr.http_request) answer every look-up as werkzeug's would: an
    absent key its default, a repeated one its first value, a value that will not convert the
    default; only the absent key's path differs, and it raises nothing to find out."""
    from werkzeug.datastructures import ImmutableMultiDict

    from ivr.http_request import Parameters

    pairs = [("Digits", "1"), ("Digits", "2"), ("QueueTime", "12"), ("QueuePosition", "x")]
    ours, theirs = Parameters(pairs), ImmutableMultiDict(pairs)
    for key in ("Digits", "QueueTime", "QueuePosition", "ParentCallSid", ""):
        assert ours.get(key) == theirs.get(key)
        assert ours.get(key, "none") == theirs.get(key, "none")
        assert ours.get(key, -1, type=int) == theirs.get(key, -1, type=int)
        assert ours.getlist(key) == theirs.getlist(key)


def test_every_request_reads_its_parameters_with_the_apps_own(app: Flask) -> None:
    from ivr.http_request import Parameters

    with app.test_request_context("/voice/incoming?lang=ru", method="POST",
                                  data={"CallSid": "CA" + "0" * 32}):
        from flask import request

        assert isinstance(request.args, Parameters)
        assert isinstance(request.form, Parameters)
        assert request.args.get("node") is None and request.form.get("Digits", "") == ""


def form_read_by(request_class: type, body: bytes, **environ: str) -> object:
    """The form a request class reads from `body`, or the exception it raises."""
    from werkzeug.test import create_environ

    wsgi = create_environ("/voice/menu/input", method="POST", input_stream=io.BytesIO(body),
                          content_type=URLENCODED, content_length=len(body))
    wsgi.update(environ)
    try:
        return list(request_class(wsgi).form.items(multi=True))
    except Exception as error:  # the answer to compare, whatever it is
        return type(error)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(
    st.binary(max_size=300),
    st.lists(st.tuples(hostile_text, hostile_text), max_size=8).map(
        lambda pairs: urlencode(pairs).encode()),
    st.lists(st.sampled_from(["a=1", "&", "=", "%", "%2", "%zz", "%ff", "%C3%A9", "+", ";",
                              "b", "%00", "é", "%E2%80"]), max_size=12).map(
        lambda parts: "".join(parts).encode())))
def test_a_webhooks_form_is_read_exactly_as_werkzeug_reads_it(body: bytes) -> None:
    # The app reads a urlencoded body of known length itself (cheaper than werkzeug's form
    # parser): the same parameters, in the same order, and the same error for a body that
    # is not UTF-8.
    from flask import Request

    from ivr.http_request import WebRequest

    assert form_read_by(WebRequest, body) == form_read_by(Request, body)


@settings(max_examples=2000, deadline=None)
@given(text=st.one_of(st.text(alphabet="ab=&%+2BCfF0é ;\x00", max_size=40), st.text(max_size=30)))
def test_a_form_is_split_into_the_pairs_parse_qsl_finds(text: str) -> None:
    # Only names and values with an escape or a + are unquoted (parse_qsl unquotes them all):
    # the same pairs, escapes and invalid bytes read the same way.
    from ivr.http_request import urlencoded_pairs

    assert urlencoded_pairs(text) == parse_qsl(text, keep_blank_values=True,
                                               errors="werkzeug.url_quote")


def test_a_form_cut_short_or_too_long_or_of_another_kind_is_answered_as_werkzeug_would() -> None:
    from flask import Request
    from werkzeug.exceptions import ClientDisconnected

    from ivr.http_request import WebRequest

    body = b"CallSid=CA" + b"0" * 32 + b"&Digits=1"
    cut_short = {"CONTENT_LENGTH": str(len(body) + 10)}
    assert form_read_by(WebRequest, body, **cut_short) is ClientDisconnected
    assert form_read_by(Request, body, **cut_short) is ClientDisconnected
    for other in ({"CONTENT_TYPE": URLENCODED + "; charset=utf-8"},
                  {"CONTENT_TYPE": "multipart/form-data; boundary=x"},
                  {"CONTENT_LENGTH": ""}, {"CONTENT_LENGTH": "-1"}):
        assert form_read_by(WebRequest, body, **other) == form_read_by(Request, body, **other)


def test_a_body_larger_than_twilio_ever_sends_is_refused_unread(client: FlaskClient) -> None:
    # Twilio's bodies are a few kilobytes: 64 KiB and more is not Twilio, and is not read.
    from ivr import MAX_BODY

    params = twilio_params(Digits="1", Padding="x" * MAX_BODY)
    response = signed_post(client, "/voice/menu/input?node=language&try=1", params)

    assert response.status_code == 403
    assert b"Forbidden" in response.data
