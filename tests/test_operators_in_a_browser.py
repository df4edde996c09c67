"""The operators' page in a real browser (headless Chromium driven by Playwright): an operator
works a request from a simulated call to its outcome, two operators race for one request, a
supervisor gives a held request to another operator, and what must be refused is refused.
Each story leaves screenshots at 1280 and 390 px wide in bench/out/screenshots/ for a person
to look at."""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from ivr.database import db
from ivr.models import Operator
from ivr.twilio.phone_simulator import Phone
from tests.fake_twilio import FakeTwilio
from tests.page_support import (
    PASSWORD,
    RUSSIAN_CALLER,
    add_people,
    request_by_call,
    requests_in,
)
from tests.support import CALL_SID, HOTLINE, signed_post, twilio_params
from tests.test_twilio_alerts import alert

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "bench" / "out" / "screenshots"
WIDTHS = {"laptop": (1280, 800), "phone": (390, 844)}
Dial = Callable[..., Phone]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--autoplay-policy=no-user-gesture-required"])
        yield chromium
        chromium.close()


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The app on a real port, as a browser needs it."""
    yield from serve(app)


def serve(app: Flask) -> Iterator[str]:
    add_people(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # The server thread runs in this process: the `twilio` fake answers its requests too.
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join(timeout=5)


def open_as(browser: Any, base: str, login: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.goto(f"{base}/operators/login")
    page.fill("#login", login)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]:has-text('Sign in')")
    page.wait_for_url(f"{base}/operators/")
    page.console_errors = errors
    return page


def screenshots(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}.png"), full_page=True)
        # Nothing may stick out sideways on a phone.
        if label == "phone":
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} is wider than a phone by {overflow}px"
    page.set_viewport_size({"width": 1280, "height": 800})


def test_operator_works_a_request_from_a_call_to_its_outcome(
        browser: Any, served: str, app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    request_by_call(phone)
    [request] = requests_in(app)
    page = open_as(browser, served, "olena")

    row = page.locator(f"#request-{request.id}")
    assert "+380 50 ••• ••67" in row.inner_text()
    assert "Do not say who we are" in row.inner_text()
    screenshots(page, "queue")
    row.locator("button:has-text('Claim')").click()
    page.wait_for_url(f"{served}/operators/requests/{request.id}")
    assert page.locator(".banner").is_visible()

    page.click("button:has-text('Show the full number')")
    assert page.locator("#full-number").inner_text() == "+380 50 123 4567"
    played = page.evaluate("""async () => {
        const audio = document.getElementById('message');
        await audio.play();
        await new Promise(done => setTimeout(done, 300));
        return {error: audio.error && audio.error.code, duration: audio.duration,
                time: audio.currentTime};
    }""")
    assert played["error"] is None and played["duration"] > 0
    assert twilio.fetched, "the message came through the app"

    page.click("#call-button")
    assert "Your phone will ring now" in page.locator(".flash").inner_text()
    [placed] = twilio.placed
    attempt = re.search(r"attempt=(\d+)", placed["Url"])
    assert attempt is not None
    leg = twilio_params(CallSid=placed["Sid"], From=HOTLINE, To=placed["To"],
                        Direction="outbound-api")
    signed_post(app.test_client(),
                f"/voice/callback-call/caller-status?attempt={attempt.group(1)}",
                {**leg, "CallSid": "CA" + "7" * 32, "CallStatus": "in-progress"})
    page.wait_for_selector("#call-progress:has-text('Caller: answered')", timeout=10_000)
    page.fill("#notes", "Talked for ten minutes; she is safe tonight.")
    page.click("button:has-text('Save notes')")
    screenshots(page, "request")

    page.check("input[name=outcome][value=reached]")
    page.click("button:has-text('Record the outcome')")
    page.wait_for_url(f"{served}/operators/")
    assert "Outcome recorded." in page.locator(".flash").inner_text()
    assert requests_in(app)[0].status == "reached"
    assert page.console_errors == []
    page.context.close()


def test_two_operators_claim_the_same_request_and_exactly_one_wins(
        browser: Any, served: str, app: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    [request] = requests_in(app)
    olena, ivan = open_as(browser, served, "olena"), open_as(browser, served, "ivan")
    claim = f"#request-{request.id} form"

    # Both forms go at once, neither waiting for the other; then each page's answer arrives.
    with ExitStack() as answers:
        for page in (olena, ivan):
            answers.enter_context(page.expect_navigation(wait_until="load"))
        for page in (olena, ivan):
            page.evaluate(f"document.querySelector('{claim}').submit()")

    outcomes = sorted(page.url.rsplit("/", 1)[-1] for page in (olena, ivan))
    assert outcomes == ["", str(request.id)]  # one on the request, one back at the queue
    loser = olena if olena.url.endswith("/operators/") else ivan
    assert "Someone else claimed this request a moment ago" in loser.locator(
        ".flash").inner_text()
    screenshots(loser, "claimed-by-someone-else")
    holder = requests_in(app)[0].claimed_by
    assert holder is not None
    for page in (olena, ivan):
        page.context.close()


def test_an_operator_cannot_open_another_languages_request_by_its_url(
        browser: Any, served: str, app: Flask, phone: Dial) -> None:
    request_by_call(phone)  # in Ukrainian
    [request] = requests_in(app)
    ivan = open_as(browser, served, "ivan")  # Russian only

    response = ivan.goto(f"{served}/operators/requests/{request.id}")

    assert response.status == 404
    assert "no such request in your languages" in ivan.content()
    assert "4567" not in ivan.content()
    screenshots(ivan, "not-found")
    ivan.context.close()


def test_a_forged_form_is_refused(browser: Any, served: str, app: Flask, phone: Dial) -> None:
    request_by_call(phone)
    [request] = requests_in(app)
    olena = open_as(browser, served, "olena")

    # The claim form without its CSRF token, as another site would have to send it.
    olena.evaluate(f"""() => {{
        const form = document.querySelector('#request-{request.id} form');
        form.querySelector('input[name=csrf_token]').remove();
        form.submit();
    }}""")
    olena.wait_for_selector("h1:has-text('This form has expired')")

    assert requests_in(app)[0].claimed_by is None
    screenshots(olena, "forged-form")
    # And from another origin, the session cookie (SameSite=Lax) is not even sent.
    action = f"{served}/operators/requests/{request.id}/claim"
    olena.set_content(f'<form method="post" action="{action}"><button>go</button></form>')
    olena.click("button")
    olena.wait_for_load_state("load")
    assert requests_in(app)[0].claimed_by is None
    olena.context.close()


def test_supervisor_pages_look_right(browser: Any, served: str, app: Flask,
                                     phone: Dial) -> None:
    request_by_call(phone)
    stranger = browser.new_context().new_page()
    stranger.goto(f"{served}/operators/login")
    stranger.fill("#login", "sofia")
    stranger.fill("#password", "not her password")
    stranger.click("button[type=submit]")
    assert "Wrong login or password." in stranger.locator(".flash").inner_text()
    screenshots(stranger, "login")
    stranger.context.close()
    sofia = open_as(browser, served, "sofia")

    for path, name in (("/operators/figures", "figures"), ("/operators/team", "team"),
                       ("/operators/audit", "audit")):
        response = sofia.goto(served + path)
        assert response.status == 200
        screenshots(sofia, name)
    sofia.select_option("#page_language", "ru")
    sofia.wait_for_selector("a:has-text('Очередь')")
    sofia.goto(served + "/operators/")
    screenshots(sofia, "queue-ru")
    assert sofia.console_errors == []
    sofia.context.close()


def test_supervisor_sees_an_alert_twilio_posted(browser: Any, served: str, app: Flask) -> None:
    moment = datetime.now(UTC).replace(microsecond=0)
    older, newer = moment - timedelta(minutes=8), moment - timedelta(seconds=30)
    signed_post(app.test_client(), "/twilio/debugger", alert(
        level="WARNING", timestamp=older.isoformat()))
    signed_post(app.test_client(), "/twilio/debugger", alert(
        sid="NO" + "c" * 32, code="12100", timestamp=newer.isoformat(),
        message="Document parse failure: <Say> inside <Gather> was not closed"))
    sofia = open_as(browser, served, "sofia")
    sofia.goto(f"{served}/operators/figures")
    assert "Twilio alerts in the last 24 hours: 2" in sofia.locator(
        "#alerts-reminder").inner_text()

    sofia.click("#alerts-reminder a")
    sofia.wait_for_url(f"{served}/operators/alerts")

    rows = sofia.locator("table.alerts tbody tr")
    assert rows.count() == 2
    newest = rows.nth(0).inner_text()
    assert "12100" in newest and "Error" in newest and CALL_SID in newest
    assert newer.strftime("%Y-%m-%d %H:%M:%S") in newest
    assert "<Say> inside <Gather> was not closed" in newest  # markup shown as text
    assert "/voice/menu/input?node=main&lang=ru" in newest
    assert "11200" in rows.nth(1).inner_text() and "Warning" in rows.nth(1).inner_text()
    screenshots(sofia, "alerts")
    sofia.select_option("#page_language", "ru")
    sofia.wait_for_selector("h1:has-text('Оповещения Twilio')")
    screenshots(sofia, "alerts-ru")
    assert sofia.console_errors == []
    sofia.context.close()


def test_an_operator_sets_up_the_second_factor_at_the_first_sign_in(
        browser: Any, make_app: Callable[..., Flask]) -> None:
    with ExitStack() as stack:
        base = stack.enter_context(contextlib.contextmanager(serve)(
            make_app(OPERATORS_2FA="required")))
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        stack.callback(context.close)
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda message: errors.append(message.text)
                if message.type == "error" else None)
        page.goto(f"{base}/operators/login")
        page.fill("#login", "olena")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]:has-text('Sign in')")
        page.wait_for_url(f"{base}/operators/enrol")

        qr = page.locator("#qr-code svg")
        assert qr.is_visible()
        assert qr.bounding_box()["width"] >= 100
        secret = page.text_content("#totp-secret") or ""
        screenshots(page, "second-factor-enrol")
        page.fill("#code", "000000")
        page.click("button[type=submit]:has-text('Confirm')")
        assert page.is_visible("text=Wrong code.")
        page.fill("#code", pyotp.TOTP(secret).now())
        page.click("button[type=submit]:has-text('Confirm')")
        codes = page.locator("#recovery-codes li").all_text_contents()
        assert len(set(codes)) == 10
        screenshots(page, "second-factor-recovery-codes")
        page.click("#to-queue")
        page.wait_for_url(f"{base}/operators/")
        assert page.is_visible("text=Olena K")
        # The QR code, drawn inline, breaks no rule of the page's Content-Security-Policy
        # (the one error is the wrong code's 401).
        assert [error for error in errors if "401" not in error] == []


def test_a_supervisor_gives_olenas_request_to_ivan_and_olenas_next_save_is_refused(
        browser: Any, served: str, app: Flask, phone: Dial) -> None:
    request_by_call(phone, caller=RUSSIAN_CALLER, language="ru")
    [request] = requests_in(app)
    olena = open_as(browser, served, "olena")
    olena.locator(f"#request-{request.id} button:has-text('Claim')").click()
    olena.wait_for_url(f"{served}/operators/requests/{request.id}")
    assert olena.locator("#notes").is_visible()

    sofia = open_as(browser, served, "sofia")
    sofia.goto(f"{served}/operators/requests/{request.id}")
    card = sofia.locator("#handover")
    assert "Held by Olena K" in card.inner_text()
    sofia.select_option("#reassign-to", label="Ivan P (ivan)")
    screenshots(sofia, "reassign")
    sofia.click("#reassign")
    sofia.wait_for_selector(".flash:has-text('Ivan P holds the request now.')")
    assert "Held by Ivan P" in sofia.locator("#handover").inner_text()
    screenshots(sofia, "reassigned")

    ivan = open_as(browser, served, "ivan")
    assert "mine" in (ivan.locator(f"#request-{request.id}").get_attribute("class") or "")
    ivan.goto(f"{served}/operators/requests/{request.id}")
    assert ivan.locator("#notes").is_visible()
    assert ivan.locator("button:has-text('Record the outcome')").is_visible()

    olena.fill("#notes", "Tried twice, no answer yet.")
    olena.click("button:has-text('Save notes')")
    olena.wait_for_selector(".flash:has-text('This request is not yours now')")
    assert not olena.locator("#notes").is_visible()
    screenshots(olena, "not-yours-now")
    held = requests_in(app)[0]
    assert held.notes is None and held.status == "open"
    with app.app_context():
        assert held.claimed_by == db.session.scalars(
            sa.select(Operator.id).where(Operator.login == "ivan")).one()
    for page in (olena, sofia, ivan):
        assert page.console_errors == []
        page.context.close()
