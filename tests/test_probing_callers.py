"""Probing and abuse: a supervisor blocks a caller's number for a time (from a request's page,
or from the callers flagged for many calls in a short while), and the blocked caller hears a
neutral goodbye; a burst of calls from one number is flagged, masked, and never crowds out
other callers."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from unittest import mock

import pytest
import sqlalchemy as sa
from flask import Flask

from ivr.database import db
from ivr.models import BlockedNumber, utcnow
from ivr.operators import blocking
from ivr.operators.audit import Actor
from ivr.phones import PhoneVault
from ivr.settings import DEV_PHONE_ENCRYPTION_KEY, DEV_PHONE_HASH_KEY
from ivr.twilio.phone_simulator import Phone
from tests.conftest import NOON, phone_for
from tests.fake_twilio import FakeTwilio
from tests.page_support import (
    RUSSIAN_CALLER,
    UKRAINIAN_CALLER,
    add_people,
    audit_trail,
    request_by_call,
    requests_in,
    sign_in,
    stop_clock,
    without_csrf,
)
from tests.support import hotline_of, prompts, stored_calls, stored_events
from tests.test_reaching_an_operator import on_duty

Dial = Callable[..., Phone]
NEUTRAL = [("ru", "cannot_take_call"), ("uk", "cannot_take_call"), ("en", "cannot_take_call")]


def block_from_request(page: Flask, request_id: int, days: str = "7",
                       reason: str = "calls to abuse operators") -> None:
    sofia = sign_in(page, "sofia")
    response = sofia.post(f"/operators/requests/{request_id}/block",
                          data={"days": days, "reason": reason})
    assert response.status_code == 302


def calls_from(phone: Dial, caller: str, times: int) -> None:
    for _ in range(times):
        call = phone(caller=caller)
        call.dial()
        call.hang_up()


def flag_tokens(html: str) -> list[str]:
    return re.findall(r'name="flag" value="([^"]+)"', html)


def test_a_blocked_caller_hears_a_neutral_goodbye_and_reaches_nobody(
        page: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    [request] = requests_in(page)
    block_from_request(page, request.id)

    call = phone(caller=RUSSIAN_CALLER)
    heard = call.dial()

    assert prompts(heard) == NEUTRAL  # in every language: they have chosen none yet
    assert not call.listening and not call.queued  # the call ends: no menu, queue or request
    assert all("block" not in (item.text or "").lower() for item in heard)
    assert [row.id for row in requests_in(page)] == [request.id]
    assert call.call_sid in {row.call_sid for row in stored_calls(page)}  # still in the log
    assert stored_events(page, call.call_sid)[0].outcome == "blocked"
    assert ("sofia", "block", request.id) in audit_trail(page)


def test_other_callers_are_not_blocked(page: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    block_from_request(page, requests_in(page)[0].id)

    call = phone(caller=UKRAINIAN_CALLER)
    call.dial()

    assert call.listening  # the language menu


def test_a_block_needs_a_reason_and_is_only_for_supervisors(page: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    [request] = requests_in(page)
    olena = sign_in(page, "olena")
    assert olena.post(f"/operators/requests/{request.id}/block",
                      data={"days": "7", "reason": "x"}).status_code == 403
    sofia = sign_in(page, "sofia")
    sofia.post(f"/operators/requests/{request.id}/block", data={"days": "7", "reason": ""})

    call = phone(caller=RUSSIAN_CALLER)
    call.dial()

    assert call.listening


def test_a_block_ends_at_its_time(page: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    start = utcnow()
    stop_clock(page, start)
    block_from_request(page, requests_in(page)[0].id, days="1")
    assert prompts(phone(caller=RUSSIAN_CALLER).dial()) == NEUTRAL

    stop_clock(page, start + timedelta(days=1, seconds=1))
    call = phone(caller=RUSSIAN_CALLER)
    call.dial()

    assert call.listening


def test_a_supervisor_unblocks_a_number_and_it_is_audited(page: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    block_from_request(page, requests_in(page)[0].id)
    with page.app_context():
        [block] = db.session.scalars(sa.select(BlockedNumber))
    sofia = sign_in(page, "sofia")

    sofia.post(f"/operators/blocks/{block.id}/unblock")

    call = phone(caller=RUSSIAN_CALLER)
    call.dial()
    assert call.listening
    assert ("sofia", "unblock", None) in audit_trail(page)
    assert "No number is blocked." in sofia.get("/operators/callers").get_data(as_text=True)


def test_a_caller_is_not_blocked_when_the_blocks_cannot_be_read(
        page: Flask, phone: Dial, caplog: pytest.LogCaptureFixture) -> None:
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    block_from_request(page, requests_in(page)[0].id)

    with mock.patch.object(blocking, "_in_force", side_effect=sa.exc.OperationalError(
            "SELECT", {}, Exception("database is away"))), caplog.at_level(logging.WARNING):
        call = phone(caller=RUSSIAN_CALLER)
        call.dial()

    assert call.listening  # fail open: the menu, as for anyone
    assert "blocked numbers could not be read" in caplog.text
    assert RUSSIAN_CALLER not in caplog.text


def test_a_burst_from_one_number_is_flagged_masked_for_a_supervisor(
        make_app: Callable[..., Flask]) -> None:
    app = without_csrf(make_app(FLAG_CALLS_FROM_ONE_NUMBER="3", FLAG_WINDOW_MINUTES="10"))
    add_people(app)
    phone = phone_for(app)
    calls_from(phone, RUSSIAN_CALLER, 3)
    calls_from(phone, UKRAINIAN_CALLER, 2)
    stored_calls(app)

    html = sign_in(app, "sofia").get("/operators/callers").get_data(as_text=True)

    assert "+7 916 •••-••-67" in html
    assert RUSSIAN_CALLER not in html and RUSSIAN_CALLER.lstrip("+") not in html
    with app.app_context():
        digest = hotline_of(app).vault.digest(RUSSIAN_CALLER)
    assert digest not in html
    assert "+380 50" not in html  # two calls are not a burst
    assert len(flag_tokens(html)) == 2  # block and let be, for the one number
    assert sign_in(app, "olena").get("/operators/callers").status_code == 403


def test_a_supervisor_blocks_a_flagged_number(make_app: Callable[..., Flask]) -> None:
    app = without_csrf(make_app(FLAG_CALLS_FROM_ONE_NUMBER="3", FLAG_WINDOW_MINUTES="10"))
    add_people(app)
    phone = phone_for(app)
    calls_from(phone, RUSSIAN_CALLER, 3)
    stored_calls(app)
    sofia = sign_in(app, "sofia")
    token = flag_tokens(sofia.get("/operators/callers").get_data(as_text=True))[0]

    sofia.post("/operators/callers/block",
               data={"flag": token, "days": "1", "reason": "silent calls all night"})

    assert prompts(phone(caller=RUSSIAN_CALLER).dial()) == NEUTRAL
    html = sofia.get("/operators/callers").get_data(as_text=True)
    assert "No number called that often." in html  # decided: no longer flagged
    assert "silent calls all night" in html and "+7 916 •••-••-67" in html
    assert ("sofia", "block", None) in audit_trail(app)


def test_a_supervisor_lets_a_burst_be(make_app: Callable[..., Flask]) -> None:
    app = without_csrf(make_app(FLAG_CALLS_FROM_ONE_NUMBER="3", FLAG_WINDOW_MINUTES="10"))
    add_people(app)
    phone = phone_for(app)
    calls_from(phone, RUSSIAN_CALLER, 3)
    stored_calls(app)
    sofia = sign_in(app, "sofia")
    token = flag_tokens(sofia.get("/operators/callers").get_data(as_text=True))[1]

    sofia.post("/operators/callers/dismiss", data={"flag": token})

    assert "No number called that often." in sofia.get("/operators/callers").get_data(
        as_text=True)
    assert ("sofia", "dismiss_flag", None) in audit_trail(app)
    call = phone(caller=RUSSIAN_CALLER)
    call.dial()
    assert call.listening  # let be: not blocked


def test_many_requests_from_one_number_keep_one_place_in_the_queue(
        page: Flask, phone: Dial) -> None:
    for _ in range(4):
        request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    request_by_call(phone, caller=UKRAINIAN_CALLER, language="ru")

    rows = requests_in(page)
    html = sign_in(page, "ivan").get("/operators/").get_data(as_text=True)

    assert len(rows) == 2  # one open request per number: the burst cannot fill the queue
    assert html.count("+7 916 •••-••-67") == 1 and "+380 50" in html


def test_flags_blocks_and_the_incoming_check_on_postgresql(postgres_app: Flask) -> None:
    phone = phone_for(postgres_app)
    calls_from(phone, RUSSIAN_CALLER, 3)
    calls_from(phone, UKRAINIAN_CALLER, 1)
    stored_calls(postgres_app)
    vault = hotline_of(postgres_app).vault
    sofia = Actor("sofia")

    with postgres_app.app_context():
        [flag] = blocking.flags(db.session(), vault, utcnow(), 3, timedelta(minutes=10))
        assert (flag.shown, flag.calls) == ("+7 916 •••-••-67", 3)
        blocking.block(db.session(), sofia, utcnow(), *blocking.flagged(vault, flag.token),
                       days=1, reason="a burst")
        db.session.commit()
        assert blocking.flags(db.session(), vault, utcnow(), 3, timedelta(minutes=10)) == []
    hotline_of(postgres_app).blocks.forget()

    assert prompts(phone(caller=RUSSIAN_CALLER).dial()) == NEUTRAL
    with postgres_app.app_context():
        [block] = blocking.blocks_in_force(db.session(), utcnow())
        blocking.unblock(db.session(), sofia, utcnow(), block.id)
        db.session.commit()
    hotline_of(postgres_app).blocks.forget()
    call = phone(caller=RUSSIAN_CALLER)
    call.dial()
    assert call.listening


def test_each_process_reads_the_blocks_again_in_the_background_every_few_seconds() -> None:
    vault = PhoneVault((DEV_PHONE_ENCRYPTION_KEY,), DEV_PHONE_HASH_KEY)
    now, ticks, reads = utcnow(), [0.0], []

    def in_force(_engine: object, at: datetime) -> dict[str, datetime]:
        reads.append(at)
        return {vault.digest(RUSSIAN_CALLER): now + timedelta(days=1)}

    with mock.patch.object(blocking, "_in_force", side_effect=in_force):
        blocks = blocking.BlockList(mock.Mock(), vault, clock=lambda: ticks[0])
        assert blocks.blocks(RUSSIAN_CALLER, now) and len(reads) == 1  # the first call reads
        ticks[0] = blocking.REFRESH_SECONDS - 1
        assert blocks.blocks(RUSSIAN_CALLER, now) and not blocks.blocks(UKRAINIAN_CALLER, now)
        assert len(reads) == 1  # a set look-up, no query
        ticks[0] = blocking.REFRESH_SECONDS
        assert blocks.blocks(RUSSIAN_CALLER, now)  # the copy there is, while it is read again
        for _ in range(100):
            if len(reads) == 2:
                break
            time.sleep(0.01)
        assert len(reads) == 2
        assert not blocks.blocks(None, now)  # a withheld number is never blocked


def test_a_flagged_number_holds_one_place_in_the_queue_and_others_still_join(
        make_app: Callable[..., Flask], twilio: FakeTwilio) -> None:
    app = make_app(FLAG_CALLS_FROM_ONE_NUMBER="3", FLAG_WINDOW_MINUTES="10")
    hotline_of(app).clock.fixed = NOON
    on_duty(app, "olena", "+380501112233", "uk,ru")
    phone = phone_for(app)
    calls_from(phone, UKRAINIAN_CALLER, 3)
    stored_calls(app)
    hotline_of(app).blocks.forget()  # as another process would read them within seconds

    first = phone(caller=UKRAINIAN_CALLER)
    first.dial()
    first.press("2")
    first.press("1")
    assert first.queued is not None  # flagged, but alone: they wait like anyone
    stored_calls(app)

    second = phone(caller=UKRAINIAN_CALLER)
    second.dial()
    second.press("2")
    heard = second.press("1")
    assert second.queued is None  # a second place in the queue: no; a request: yes
    assert ("uk", "operator_surge") in prompts(heard)
    assert second.listening

    someone_else = phone(caller="+380671234567")
    someone_else.dial()
    someone_else.press("2")
    someone_else.press("1")
    assert someone_else.queued is not None
