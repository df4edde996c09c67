"""Whatever a signed request carries (huge values, control characters, markup, SQL, numbers in
every spelling), every webhook answers valid TwiML or a plain refusal, never a 500, and nothing
from the request becomes markup."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlencode

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import signed_post

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
