"""The benchmark's callers are real callers: the scenario `make bench` plays leaves requests."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask

from bench.calls import distinct_callers, run_calls
from bench.webhooks import PUBLIC_BASE_URL
from ivr import phones
from ivr.database import db
from ivr.models import CallbackRequest
from tests.support import AUTH_TOKEN


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
