"""Where the request page shows no "call back" button, it says why in words: the request is
closed, not claimed or held by someone else, no HOTLINE_NUMBER, a number that cannot be
dialled, or no number of CALLBACK_CALLER_IDS for the caller's country. A call refused for
one of these never reaches Twilio."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ivr.database import db
from ivr.models import CallbackRequest
from tests.conftest import phone_for
from tests.fake_twilio import FakeTwilio
from tests.page_support import add_people, request_by_call, requests_in, sign_in, without_csrf
from tests.support import hotline_of

CALL_BUTTON = 'id="call-button"'


def reason_on(page_html: str) -> str:
    assert CALL_BUTTON not in page_html
    return page_html.split('id="no-call-back">')[1].split("</p>")[0]


def page_for(make_app: Callable[..., Flask], **settings: str) -> Flask:
    app = make_app(**settings)
    add_people(app)
    return without_csrf(app)


def olena_holds_a_request(app: Flask) -> tuple[FlaskClient, int]:
    request_by_call(phone_for(app))
    [request] = requests_in(app)
    olena = sign_in(app, "olena")
    olena.post(f"/operators/requests/{request.id}/claim")
    return olena, request.id


@pytest.fixture
def page(make_app: Callable[..., Flask]) -> Flask:
    return page_for(make_app)


def test_olena_sees_the_button_on_a_request_she_holds(page: Flask) -> None:
    olena, request_id = olena_holds_a_request(page)

    shown = olena.get(f"/operators/requests/{request_id}").get_data(as_text=True)

    assert CALL_BUTTON in shown and 'id="no-call-back"' not in shown


def test_a_request_nobody_holds_says_to_claim_it_first(page: Flask) -> None:
    request_by_call(phone_for(page))
    [request] = requests_in(page)
    olena = sign_in(page, "olena")

    shown = olena.get(f"/operators/requests/{request.id}").get_data(as_text=True)

    assert "To call back, claim this request first" in reason_on(shown)


def test_a_request_olena_holds_tells_sofia_who_may_call(page: Flask) -> None:
    _, request_id = olena_holds_a_request(page)
    sofia = sign_in(page, "sofia")

    shown = sofia.get(f"/operators/requests/{request_id}").get_data(as_text=True)

    assert "Olena K holds this request: only they can call back" in reason_on(shown)


def test_a_closed_request_says_nobody_needs_to_call(page: Flask) -> None:
    olena, request_id = olena_holds_a_request(page)
    olena.post(f"/operators/requests/{request_id}/outcome", data={"outcome": "reached"})

    shown = olena.get(f"/operators/requests/{request_id}").get_data(as_text=True)

    assert "this request is closed, nobody needs to call" in reason_on(shown)


def test_without_a_hotline_number_the_box_says_no_call_can_be_placed(
        make_app: Callable[..., Flask], twilio: FakeTwilio) -> None:
    app = page_for(make_app, HOTLINE_NUMBER="")
    olena, request_id = olena_holds_a_request(app)

    shown = olena.get(f"/operators/requests/{request_id}").get_data(as_text=True)
    tried = olena.post(f"/operators/requests/{request_id}/call", follow_redirects=True)

    assert "(HOTLINE_NUMBER) is not set" in reason_on(shown)
    assert "(HOTLINE_NUMBER) is not set" in tried.get_data(as_text=True)
    assert twilio.placed == []


def test_a_number_that_is_not_a_phone_number_cannot_be_dialled(
        page: Flask, twilio: FakeTwilio) -> None:
    olena, request_id = olena_holds_a_request(page)
    with page.app_context():  # a number from before the checks, say: not a real number
        db.session.get_one(CallbackRequest, request_id).number = \
            hotline_of(page).vault.encrypt("+1000")
        db.session.commit()

    shown = olena.get(f"/operators/requests/{request_id}").get_data(as_text=True)
    tried = olena.post(f"/operators/requests/{request_id}/call", follow_redirects=True)

    assert "cannot be dialled: it is not a valid phone number" in reason_on(shown)
    assert "not a valid phone number" in tried.get_data(as_text=True)
    assert twilio.placed == []


def test_a_pool_without_a_number_for_the_callers_country_stops_the_call(
        make_app: Callable[..., Flask], twilio: FakeTwilio) -> None:
    """Only a Polish number in the pool, and the published one may not stand in: a Ukrainian
    caller cannot be shown any number, so nobody is rung."""
    app = page_for(make_app, CALLBACK_CALLER_IDS="+48:+48221234567")
    olena, request_id = olena_holds_a_request(app)

    shown = olena.get(f"/operators/requests/{request_id}").get_data(as_text=True)
    tried = olena.post(f"/operators/requests/{request_id}/call", follow_redirects=True)

    assert "CALLBACK_CALLER_IDS has none for it" in reason_on(shown)
    assert "CALLBACK_CALLER_IDS has none for it" in tried.get_data(as_text=True)
    assert twilio.placed == []


def test_where_the_published_number_may_stand_in_the_call_goes_out(
        make_app: Callable[..., Flask], twilio: FakeTwilio) -> None:
    app = page_for(make_app, CALLBACK_CALLER_IDS="+48:+48221234567",
                   CALLBACK_MAY_SHOW_HOTLINE_NUMBER="true")
    olena, request_id = olena_holds_a_request(app)

    shown = olena.get(f"/operators/requests/{request_id}").get_data(as_text=True)

    assert CALL_BUTTON in shown and "published number" in shown


def test_while_a_call_is_under_way_the_box_says_the_button_comes_back(
        page: Flask, twilio: FakeTwilio) -> None:
    olena, request_id = olena_holds_a_request(page)
    called = olena.post(f"/operators/requests/{request_id}/call", follow_redirects=True)
    assert "Your phone will ring now" in called.get_data(as_text=True)

    shown = olena.get(f"/operators/requests/{request_id}").get_data(as_text=True)

    assert "the button comes back when it ends" in shown
    button = shown.split(CALL_BUTTON)[1].split(">")[0]
    assert "disabled" in button
