"""The operators' page in a real browser (headless Chromium driven by Playwright): an operator
works a request from a simulated call to its outcome, two operators race for one request,
what must be refused is refused, a shift (available, a call, wrap-up, a break), the
wallboard updating as a caller joins, and a no-answer tried again inside the caller's safe
window, back in its old place once due, a supervisor handing a held request to another
operator. Each story leaves screenshots at 1280 and 390 px wide
in bench/out/screenshots/ for a person to look at."""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from ivr.database import db
from ivr.models import CallbackNote, Operator
from ivr.operators import accounts, presence
from ivr.twilio.phone_simulator import Phone
from tests.conftest import NOON, phone_for
from tests.fake_twilio import FakeTwilio
from tests.page_support import (
    PASSWORD,
    RUSSIAN_CALLER,
    add_people,
    request_by_call,
    requests_in,
    stop_clock,
)
from tests.support import CALL_SID, HOTLINE, hotline_of, prompts, signed_post, twilio_params
from tests.test_reaching_an_operator import asks_for_an_operator, operator_phone
from tests.test_twilio_alerts import alert

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "bench" / "out" / "screenshots"
WIDTHS = {"laptop": (1280, 800), "phone": (390, 844)}
Dial = Callable[..., Phone]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


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
    page.click("button:has-text('Save the note')")
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
    # On the desk's clock (DESK_TIMEZONE, Kyiv by default).
    assert newer.astimezone(ZoneInfo("Europe/Kyiv")).strftime("%Y-%m-%d %H:%M:%S") in newest
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


# A shift at the desk: an operator comes in, says she is available, takes a call, wraps up,
# takes the next after pressing Ready, then goes on a break; and the wallboard, open on a
# screen, counts a caller who joins the queue without being reloaded.
OLENA_PHONE = "+380501112233"


@pytest.fixture
def shift(app: Flask) -> Iterator[str]:
    """The app on a real port at noon, when the desk answers every language; Olena is on
    the roster for this shift, but not at her desk yet (signed off)."""
    hotline_of(app).clock.fixed = NOON
    for base in serve(app):
        with app.app_context():
            operator = accounts.set_duty(db.session(), "olena", True)
            presence.sign_off(db.session(), operator, NOON)
            db.session.commit()
        yield base


def takes_the_call(app: Flask, call: Phone, placed: dict[str, str]) -> None:
    """Olena's phone rings: she picks up, presses 1, talks with the caller; they hang up."""
    olena = operator_phone(app, placed)
    assert placed["To"] == OLENA_PHONE
    olena.answer(placed["Url"])
    olena.press("1")
    call.put_through(olena)
    call.conversation_ends(olena)


def presence_of(page: Any) -> str:
    return str(page.locator("#my-presence").inner_text())


def test_a_shift_available_a_call_wrap_up_ready_another_call_then_a_break(
        browser: Any, shift: str, app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    page = open_as(browser, shift, "olena")
    assert presence_of(page) == "Signed off"
    first_caller, heard = asks_for_an_operator(phone)
    assert prompts(heard)[0] == ("uk", "operator_nobody") and twilio.placed == []

    page.click("#presence button:has-text('Available')")
    page.wait_for_selector("#my-presence:text-is('Available')")
    screenshots(page, "presence-available")

    first_caller, _ = asks_for_an_operator(phone, caller="+380671230001")
    [placed] = twilio.placed
    takes_the_call(app, first_caller, placed)
    page.reload()
    assert presence_of(page).startswith("Wrap-up until ")
    screenshots(page, "presence-wrap-up")

    # The next caller waits for her, but her phone stays quiet while she writes her notes.
    second_caller, heard = asks_for_an_operator(phone, caller="+380671230002")
    assert second_caller.queued is not None
    second_caller.wait()
    assert len(twilio.placed) == 1

    page.click("#presence button:has-text('Ready')")
    page.wait_for_selector("#my-presence:text-is('Available')")
    second_caller.wait()  # the next round of the music rings her
    assert len(twilio.placed) == 2
    takes_the_call(app, second_caller, twilio.placed[1])

    page.reload()
    page.click("#presence button:has-text('Take a break')")
    page.wait_for_selector("#my-presence:text-is('On a break')")
    screenshots(page, "presence-break")
    _, heard = asks_for_an_operator(phone, caller="+380671230003")

    assert prompts(heard)[0] == ("uk", "operator_nobody")
    assert len(twilio.placed) == 2, "nobody rings an operator on a break"
    assert page.console_errors == []


def test_the_wallboard_counts_a_caller_who_joins_without_a_reload(
        browser: Any, shift: str, app: Flask, phone: Dial, twilio: FakeTwilio) -> None:
    with app.app_context():
        accounts.set_duty(db.session(), "ivan", True)
        db.session.commit()
    page = open_as(browser, shift, "sofia")
    page.goto(f"{shift}/operators/board")
    assert page.locator("#waiting-total").inner_text() == "0"
    assert page.locator("#operators-available").inner_text() == "1"  # Ivan
    page.evaluate("window.stillTheSamePage = true")

    caller = phone(caller="+79161230004")
    caller.dial()
    caller.press("1")  # Russian
    caller.press("1")  # an operator

    page.wait_for_selector("#waiting-total:text-is('1')", timeout=15_000)
    assert page.locator("#waiting-ru").inner_text() == "1"
    assert page.evaluate("window.stillTheSamePage") is True, "the page was not reloaded"
    assert page.locator("#operators-in_call").inner_text() == "1"  # Ivan's phone rings
    screenshots(page, "wallboard")
    assert page.console_errors == []
# Call-backs that respect the caller: a no-answer is tried again inside the caller's window.
KYIV = ZoneInfo("Europe/Kyiv")
EVENINGS, ANY_TIME = "3", "1"


def order(page: Any, *request_ids: int) -> list[int]:
    """The rows of these requests, top to bottom, in the queue as the page shows it now."""
    shown = page.evaluate("() => [...document.querySelectorAll('tr[id^=request-]')]"
                          ".map(row => Number(row.id.slice(8)))")
    return [each for each in shown if each in request_ids]


def test_a_no_answer_late_in_their_evening_is_tried_again_at_their_next_evening_in_its_place(
        browser: Any, served: str, app: Flask, phone: Dial) -> None:
    request_by_call(phone, window=EVENINGS, message=None)  # Lesia, a Kyiv number, evenings
    request_by_call(phone, caller="+380671112299", window=ANY_TIME, message=None)  # later
    lesia, taras = (request.id for request in requests_in(app))
    # 21:50 in Kyiv tomorrow: a 15-minute delay would end after her evening (22:00).
    tomorrow = datetime.now(KYIV).date() + timedelta(days=1)
    late = datetime.combine(tomorrow, time(21, 50), tzinfo=KYIV).astimezone(UTC)
    stop_clock(app, late)
    page = open_as(browser, served, "olena")
    assert order(page, lesia, taras) == [lesia, taras]

    page.locator(f"#request-{lesia} button:has-text('Claim')").click()
    page.wait_for_url(f"{served}/operators/requests/{lesia}")
    page.check("input[name=outcome][value=no_answer]")
    page.fill("#outcome-note", "Rang out; voicemail without a name")
    page.click("button:has-text('Record the outcome')")
    page.wait_for_url(f"{served}/operators/")

    assert "next try at 18:00" in page.locator(".flash").inner_text()
    row = page.locator(f"#request-{lesia}")
    assert "next try at 18:00" in row.inner_text()  # her next evening, 18:00 her time
    assert order(page, lesia, taras) == [taras, lesia]  # not due: after those due
    screenshots(page, "queue-next-try")
    page.goto(f"{served}/operators/requests/{lesia}")
    assert "next try at 18:00" in page.locator("#next-try").inner_text()
    assert "voicemail without a name" in page.locator("#history").inner_text()
    screenshots(page, "request-next-try")

    next_evening = datetime.combine(tomorrow + timedelta(days=1), time(18, 1), tzinfo=KYIV)
    stop_clock(app, next_evening.astimezone(UTC))
    page.goto(f"{served}/operators/")
    # Due again, back in its old place: first, as when she first reached us.
    page.wait_for_function(
        f"() => !document.querySelector('#request-{lesia}').innerText.includes('next try')")
    assert order(page, lesia, taras) == [lesia, taras]
    assert page.console_errors == []
    page.context.close()


# Every page on a phone 390 px wide: nothing scrolls sideways, the supervisors' tables fold
# into cards, the chart's dates can be read, and the key words of each page are on the
# screen. Sofia, a supervisor, goes through them all with some data on them, in English and
# in Ukrainian.
WIDTH = 390
PHONE = {"width": WIDTH, "height": 844}

@pytest.fixture
def desk(make_app: Callable[..., Flask]) -> Iterator[tuple[Flask, str]]:
    """A desk with a second factor required, two callers' requests (one number called twice,
    so it is flagged), and an alert from Twilio."""
    app = make_app(OPERATORS_2FA="required", FLAG_CALLS_FROM_ONE_NUMBER="2")
    with contextlib.contextmanager(serve)(app) as base:
        phone = phone_for(app)
        request_by_call(phone)
        request_by_call(phone)
        request_by_call(phone, caller=RUSSIAN_CALLER, language="ru", identify=True)
        signed_post(app.test_client(), "/twilio/debugger", alert())
        yield app, base


def fits(page: Any, name: str, *texts: str) -> None:
    """Nothing is wider than the phone, and each text (or `css=` locator) is on the screen,
    inside its width."""
    page.screenshot(path=str(SCREENSHOTS / f"phone-{name}-{WIDTH}.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"{name} is {width}px wide on a {WIDTH}px phone"
    # Nor does a table scroll sideways inside the page: it folds into cards instead.
    wide = page.evaluate("""Array.from(document.querySelectorAll('main .scroll, main table'))
        .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.className)""")
    assert wide == [], f"{name}: {wide} scroll sideways"
    for text in texts:
        shown = (page.locator(text) if text.startswith("css=")
                 else page.get_by_text(text, exact=False)).first
        assert shown.is_visible(), f"{name}: {text!r} is not shown"
        box = shown.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH + 1, \
            f"{name}: {text!r} sticks out"


def open_phone(browser: Any) -> Any:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context(viewport=PHONE).new_page()
    page.console_errors = []
    page.on("console", lambda message: page.console_errors.append(message.text)
            if message.type == "error" else None)
    return page


def sign_in_as_sofia(page: Any, base: str) -> None:
    page.goto(f"{base}/operators/login")
    page.fill("#login", "sofia")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_every_page_fits_a_phone_390_px_wide(browser: Any,
                                              desk: tuple[Flask, str]) -> None:
    app, base = desk
    first, second = requests_in(app)
    page = open_phone(browser)
    page.goto(f"{base}/operators/login")
    fits(page, "sign-in", "Sign in", "Українська")

    sign_in_as_sofia(page, base)
    page.wait_for_url(f"{base}/operators/enrol")
    fits(page, "enrol", "Set up your second factor", "Confirm")
    totp = pyotp.TOTP(page.text_content("#totp-secret") or "")
    page.fill("#code", totp.now())
    page.click("button[type=submit]")
    fits(page, "recovery-codes", "Your recovery codes", "I have written them down")
    page.click("#to-queue")
    page.wait_for_url(f"{base}/operators/")
    fits(page, "queue", "Callback queue", "css=button:has-text('Claim')", "+380 50 ••• ••67",
         "My password")

    page.locator(f"#request-{first.id} button:has-text('Claim')").click()
    page.wait_for_url(f"{base}/operators/requests/{first.id}")
    fits(page, "request", "Call back through my phone", "Save the note", "Record the outcome")
    page.locator("input[value=reached]").check()
    page.click("button:has-text('Record the outcome')")
    page.wait_for_url(f"{base}/operators/")

    page.goto(f"{base}/operators/requests/{second.id}")
    fits(page, "request-not-claimed", "To call back, claim this request first")
    page.goto(f"{base}/operators/figures")
    fits(page, "figures", "Figures", "Today", "Last 7 days", "Ukrainian", "Surge switch",
         "css=svg.chart")
    labels = page.locator("svg.chart text.label").evaluate_all(
        "texts => texts.map(t => t.getBoundingClientRect())"
        ".map(r => ({left: r.left, right: r.right, height: r.height}))")
    assert len(labels) == 7
    assert all(label["height"] >= 10 for label in labels), labels  # readable on a phone
    assert all(a["right"] <= b["left"] for a, b in itertools.pairwise(labels)), labels
    page.goto(f"{base}/operators/team")
    fits(page, "team", "Team", "olena", "Add an operator")
    page.goto(f"{base}/operators/audit")
    fits(page, "audit", "Audit log", "css=table.audit td:has-text('sofia')")
    page.goto(f"{base}/operators/alerts")
    fits(page, "alerts", "Twilio alerts", "11200")
    page.goto(f"{base}/operators/callers")
    fits(page, "callers", "Many calls from one number", "+380 50 ••• ••67", "Let be")
    page.locator("table.flags input[name=reason]").fill("many silent calls")
    page.locator("table.flags button:has-text('Block')").click()
    page.wait_for_url(f"{base}/operators/callers")
    fits(page, "callers-blocked", "Blocked numbers", "many silent calls", "Unblock")
    page.goto(f"{base}/operators/password")
    fits(page, "password", "Change your password", "Current password", "Change the password")

    page.select_option("#page_language", "uk")
    page.wait_for_selector("a:has-text('Черга')")
    page.goto(f"{base}/operators/")
    fits(page, "queue-uk", "Черга зворотних дзвінків", "Мій пароль")
    page.goto(f"{base}/operators/figures")
    fits(page, "figures-uk", "Показники", "Сьогодні", "Останні 7 днів",
         "css=table.figures th:has-text('Українська')")
    page.goto(f"{base}/operators/team")
    fits(page, "team-uk", "Команда", "Додати оператора")
    # On the desk's wide screen too: a long Ukrainian label squeezes no value out of its card.
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/operators/requests/{second.id}")
    page.locator("form[action$='/claim'] button").first.click()  # three cards side by side
    page.wait_for_selector("#no-call-back, button:has-text('Передзвонити')")
    squeezed = page.evaluate("""Array.from(document.querySelectorAll('dl.facts dd'))
        .filter(dd => dd.getBoundingClientRect().right
                      > dd.closest('section').getBoundingClientRect().right + 1)
        .map(dd => dd.textContent.trim().slice(0, 40))""")
    assert squeezed == [], squeezed
    assert page.console_errors == []
    page.context.close()

    again = open_phone(browser)
    sign_in_as_sofia(again, base)
    again.wait_for_url(f"{base}/operators/second-factor")
    fits(again, "second-factor", "Your code", "Go on")
    again.context.close()


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
    olena.click("button:has-text('Save the note')")
    olena.wait_for_selector(".flash:has-text('This request is not yours now')")
    assert not olena.locator("#notes").is_visible()
    screenshots(olena, "not-yours-now")
    held = requests_in(app)[0]
    assert held.status == "open"
    with app.app_context():
        assert not db.session.scalars(sa.select(CallbackNote)).all()
    with app.app_context():
        assert held.claimed_by == db.session.scalars(
            sa.select(Operator.id).where(Operator.login == "ivan")).one()
    for page in (olena, sofia, ivan):
        assert page.console_errors == []
        page.context.close()
