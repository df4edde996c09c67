"""The website's chat in a real browser (headless Chromium driven by Playwright): Oksana
writes in Ukrainian, Olena takes her chat and answers, and the answer appears on Oksana's
page without a reload; "leave now"; the same journey with JavaScript switched off. Leaves
screenshots of /chat/ at 390 px in each language in bench/out/screenshots."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.chat_support import chats_in, on_duty
from tests.test_operators_in_a_browser import CHROMIUM, SCREENSHOTS, open_as, serve

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")


@pytest.fixture
def served(desk_app: Flask) -> Iterator[str]:
    yield from serve(desk_app)


def person(browser: Any, base: str, javascript: bool = True, language: str = "uk-UA") -> Any:
    context = browser.new_context(viewport={"width": 390, "height": 844},
                                  java_script_enabled=javascript, locale=language,
                                  extra_http_headers={"Accept-Language": f"{language},uk;q=0.9"})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.console_errors = errors
    page.goto(f"{base}/chat/")
    return page


def test_oksana_reaches_olena_and_her_answer_appears_without_a_reload(
        browser: Any, served: str, desk_app: Flask) -> None:
    on_duty(desk_app, "olena")
    oksana = person(browser, served)
    assert oksana.locator("html").get_attribute("lang") == "uk"
    oksana.click("button:has-text('Написати операторові зараз')")
    oksana.wait_for_selector("#status:has-text('Ваше місце в черзі: 1.')")
    oksana.fill("#message", "Я не можу говорити, тут люди")
    oksana.click("#send-form button[type=submit]")
    oksana.wait_for_selector(".line.person:has-text('Я не можу говорити')")
    oksana.evaluate("window.stillTheSamePage = true")

    olena = open_as(browser, served, "olena")
    olena.click("a:has-text('Web chats')")
    [chat] = chats_in(desk_app)
    olena.locator(f"#chat-{chat.id} button:has-text('Take')").click()
    olena.wait_for_url(f"{served}/operators/chats/{chat.id}")
    assert "Я не можу говорити, тут люди" in olena.locator("#chat-lines").inner_text()
    olena.fill("#message", "Пишіть, я тут. <b>Ви в безпеці?</b>")
    olena.click("button:has-text('Send')")

    oksana.wait_for_selector(".line.operator:has-text('Ви в безпеці?')", timeout=10_000)
    assert oksana.evaluate("window.stillTheSamePage") is True  # no reload happened
    olena.evaluate("window.stillTheSamePage = true")
    oksana.fill("#message", "Так, поки що")
    oksana.click("#send-form button[type=submit]")
    olena.wait_for_selector(".chat-line.person:has-text('Так, поки що')", timeout=10_000)
    assert olena.evaluate("window.stillTheSamePage") is True
    assert oksana.locator(".line.operator b").count() == 0  # markup shown as text
    assert "Оператор з вами" in oksana.locator("#status").inner_text()
    assert oksana.evaluate("document.documentElement.scrollWidth"
                           " - document.documentElement.clientWidth") <= 0  # fits a phone
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    oksana.screenshot(path=str(SCREENSHOTS / "chat-conversation-uk-390.png"), full_page=True)
    assert oksana.console_errors == [] and olena.console_errors == []


def test_leave_now_replaces_the_page_at_once(browser: Any, served: str,
                                             desk_app: Flask) -> None:
    on_duty(desk_app, "olena")
    oksana = person(browser, served)
    oksana.click("button:has-text('Написати операторові зараз')")
    oksana.wait_for_selector("#status")
    oksana.click("#leave-now")
    oksana.wait_for_url(f"{served}/weather")
    assert "Погода" in oksana.content() and "Ctrl+Shift+Delete" in oksana.content()
    for _ in range(30):  # the chat is ended in the background, the page did not wait
        if chats_in(desk_app)[0].status == "ended":
            break
        oksana.wait_for_timeout(100)
    assert chats_in(desk_app)[0].status == "ended"
    assert oksana.context.cookies() == []  # the chat's cookie is gone, and nothing else
    oksana.go_back()
    assert "Я не можу" not in oksana.content()


def test_the_same_journey_works_with_javascript_switched_off(
        browser: Any, served: str, desk_app: Flask) -> None:
    on_duty(desk_app, "olena")
    oksana = person(browser, served, javascript=False)
    oksana.click("button:has-text('Написати операторові зараз')")
    assert "Ваше місце в черзі: 1." in oksana.locator("#status").inner_text()
    oksana.fill("#message", "Без скриптів")
    oksana.click("#send-form button[type=submit]")
    assert "Без скриптів" in oksana.locator("#lines").inner_text()

    olena = open_as(browser, served, "olena")
    [chat] = chats_in(desk_app)
    olena.goto(f"{served}/operators/chats")
    olena.locator(f"#chat-{chat.id} button:has-text('Take')").click()
    olena.fill("#message", "Бачу вас")
    olena.click("button:has-text('Send')")

    oksana.click("#check")
    assert "Бачу вас" in oksana.locator("#lines").inner_text()
    oksana.click("#leave-now")
    oksana.wait_for_url(f"{served}/weather")
    assert chats_in(desk_app)[0].status == "ended"


@pytest.mark.parametrize("language", ["uk", "ru", "en"])
def test_the_chat_fits_a_phone_in_each_language(browser: Any, served: str,
                                                language: str) -> None:
    page = person(browser, served, language=language)
    page.goto(f"{served}/chat/?lang={language}")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"/chat/ in {language} is wider than a phone by {overflow}px"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"chat-{language}-390.png"), full_page=True)
    assert page.console_errors == []
