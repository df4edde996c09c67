"""In a real browser (headless Chromium, Playwright): Sofia, a supervisor, opens a request
Olena holds and gives it to Ivan; Ivan finds it his; Olena, whose page is still open, saves
her notes and is told, in words, that the request is not hers now. Screenshots at 1280 and
390 px in bench/out/screenshots/."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from ivr.database import db
from ivr.models import Operator
from ivr.twilio.phone_simulator import Phone
from tests.page_support import RUSSIAN_CALLER, request_by_call, requests_in
from tests.test_operators_in_a_browser import CHROMIUM, open_as, screenshots, serve

Dial = Callable[..., Phone]

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
