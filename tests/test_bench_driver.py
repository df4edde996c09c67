"""The benchmark's callers are real callers: the scenario `make bench` plays leaves requests."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask

from bench import chats, without
from bench.calls import distinct_callers, run_calls
from bench.webhooks import PUBLIC_BASE_URL, extract_revision
from ivr import phones
from ivr.database import db
from ivr.models import CallbackRequest, ChatConversation
from tests.support import AUTH_TOKEN, signed_post, stored_events, twilio_params


def client_sender(app: Flask) -> Callable[..., tuple[int, str, bytes]]:
    client = app.test_client()

    def send(method: str, url: str, params: dict[str, str],
             headers: dict[str, str]) -> tuple[int, str, bytes]:
        parts = urlsplit(url)
        response = client.open(parts.path + (f"?{parts.query}" if parts.query else ""),
                               method=method, data=params, headers=headers)
        body = response.get_data()
        response.close()
        return response.status_code, response.content_type or "", body

    return send


def test_every_bench_caller_hears_saved_after_three_presses_and_is_stored(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(PUBLIC_BASE_URL=PUBLIC_BASE_URL)
    pressed: list[str] = []
    send = client_sender(app)

    def counting(method: str, url: str, params: dict[str, str],
                 headers: dict[str, str]) -> tuple[int, str, bytes]:
        if "Digits" in params:
            pressed.append(params["Digits"])
        return send(method, url, params, headers)

    burst = run_calls(counting, AUTH_TOKEN, calls=6, concurrency=1)

    assert (burst.failed, burst.acknowledged) == (0, 6)
    assert len(pressed) == 3 * 6  # a language, 2, and "yes, this number"
    with app.app_context():
        stored = db.session.scalars(sa.select(CallbackRequest)).all()
    assert {request.reference for request in stored} == set(burst.references)
    assert not any(request.recording_sid for request in stored)


def test_every_bench_caller_on_the_whole_journey_leaves_a_message(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(PUBLIC_BASE_URL=PUBLIC_BASE_URL)

    burst = run_calls(client_sender(app), AUTH_TOKEN, calls=6, concurrency=1, full=True)

    assert (burst.failed, burst.acknowledged) == (0, 6)
    with app.app_context():
        stored = db.session.scalars(sa.select(CallbackRequest)).all()
    assert {request.reference for request in stored} == set(burst.references)
    assert all(request.recording_sid for request in stored)


def test_bench_callers_are_distinct_valid_numbers() -> None:
    callers = distinct_callers(300)

    assert len(set(callers)) == 300
    assert all(phones.normalise(number) == number for number in callers)


def test_the_chat_bench_polls_as_the_persons_page_does() -> None:
    script = (Path(__file__).parent.parent / "ivr/chat/web/static/chat.js").read_text()

    [every] = re.findall(r"setInterval\(ask, (\d+)\)", script)
    assert int(every) == round(chats.POLL_SECONDS * 1000)
    assert chats.POLL_SECONDS * 2 <= chats.TARGET_P99_SECONDS  # room for the request itself


def test_the_chat_bench_sees_every_operators_reply_on_the_persons_page(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(CHAT_MESSAGES_PER_MINUTE="600")
    app.config["WTF_CSRF_ENABLED"] = True
    desk = chats.prepare(app, chats=3, operators=2)
    lock = threading.Lock()  # one request at a time: the test's SQLite file
    client = app.test_client(use_cookies=False)

    def send(method: str, path: str, headers: dict[str, str],
             form: dict[str, str] | None) -> tuple[int, dict[str, str], bytes]:
        with lock:
            response = client.open(path, method=method, headers=headers, data=form)
            cookies = "; ".join(value.split(";", 1)[0]
                                for value in response.headers.getlist("Set-Cookie"))
            return response.status_code, {"set-cookie": cookies}, response.get_data()

    result = chats.run(send, desk, seconds=2.0, reply_every=0.6, write_every=1.0, poll=0.2,
                       settle=1.0)

    assert result.errors == 0 and result.sent >= 3
    assert result.delivered == result.sent and result.never_seen == 0
    assert all(0 <= seconds < 2 for seconds in result.latencies)
    assert "p99" in chats.report(result, 3, 0.2)
    with app.app_context():
        held = db.session.scalars(sa.select(ChatConversation)).all()
    assert {chat.status for chat in held} == {"held"} and len(held) == 3


def test_the_chat_bench_browser_keeps_and_forgets_cookies() -> None:
    answers = iter([(200, {"set-cookie": "session=abc; chat=xyz"}, b""),
                    (200, {"set-cookie": "chat="}, b"")])
    sent: list[dict[str, str]] = []

    def send(method: str, path: str, headers: dict[str, str],
             form: dict[str, str] | None) -> tuple[int, dict[str, str], bytes]:
        sent.append(headers)
        return next(answers)

    browser = chats.Browser(send)
    browser.go("GET", "/")
    assert browser.cookies == {"session": "abc", "chat": "xyz"}
    browser.go("GET", "/")
    assert sent[1] == {"Cookie": "session=abc; chat=xyz"}
    assert browser.cookies == {"session": "abc"}
    assert chats.percentile([0.1, 0.2, 0.3], 0.5) == 0.2


def test_an_earlier_revision_is_served_from_its_own_files_and_a_wrong_one_said_in_a_line(
        tmp_path: Path) -> None:
    """`python -m bench.webhooks --beside REV` serves the app as it was at REV."""
    revision = extract_revision("HEAD", tmp_path / "head")
    assert (revision / "ivr" / "__init__.py").is_file()
    assert (revision / "gunicorn.conf.py").is_file()
    with pytest.raises(SystemExit) as refused:
        extract_revision("no-such-revision", tmp_path / "none")
    assert "no revision 'no-such-revision' here" in str(refused.value)


def test_the_app_measured_without_its_logs_answers_every_call_as_usual_and_writes_neither(
        make_app: Callable[..., Flask], capsys: pytest.CaptureFixture[str]) -> None:
    voice_log = logging.getLogger("ivr.voice")
    level = voice_log.level
    app = without.switched_off(make_app(), without.parts_named("log, call-log"))
    client = app.test_client()
    capsys.readouterr()
    try:
        answer = signed_post(client, "/voice/incoming", twilio_params(CallStatus="ringing"))
        forged = client.post("/voice/incoming", data=twilio_params(CallStatus="ringing"))
    finally:
        # Switched off for the whole process, as in a gunicorn worker: back for the next test.
        voice_log.setLevel(level)

    assert answer.status_code == 200 and b"<Gather" in answer.data
    assert stored_events(app) == []
    # The webhook's own line is gone; a warning is still logged.
    logged = [json.loads(line)["message"] for line in capsys.readouterr().err.splitlines()]
    assert logged == ["webhook refused"]
    assert forged.status_code == 403


def test_a_part_the_bench_cannot_switch_off_is_named_in_one_line() -> None:
    with pytest.raises(ValueError, match="no part called logs: the parts are log, call-log"):
        without.parts_named("logs")
    assert without.parts_named("") == set()
