"""In a real browser (headless Chromium): an operator records "no answer" late in a caller's
evening; the request leaves the due list with its next try at the opening of the caller's
next evening, and when the clock passes that time it is due again, at its old place."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from ivr.twilio.phone_simulator import Phone
from tests.page_support import request_by_call, requests_in, stop_clock
from tests.test_operators_in_a_browser import CHROMIUM, open_as, screenshots, serve

Dial = Callable[..., Phone]
KYIV = ZoneInfo("Europe/Kyiv")
EVENINGS, ANY_TIME = "3", "1"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield chromium
        chromium.close()


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    yield from serve(app)


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
