"""The page in English, Russian and Ukrainian: each person chooses; the open-request button
says «Открыть» / «Відкрити» (a verb), the request's status «Открыта» / «Відкрита»."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from ivr.twilio.phone_simulator import Phone
from tests.page_support import request_by_call, requests_in, sign_in


def olena_in(page: Flask, phone: Callable[..., Phone], language: str) -> FlaskClient:
    request_by_call(phone)
    [request] = requests_in(page)
    olena = sign_in(page, "olena")
    olena.post("/operators/language", data={"page_language": language, "next": "/operators/"})
    olena.post(f"/operators/requests/{request.id}/claim")
    return olena


def open_button(queue: str) -> str:
    return queue.split('<a class="button" href="/operators/requests/')[1].split("</a>")[0]


def test_the_russian_queue_open_button_says_otkryt(page: Flask,
                                                    phone: Callable[..., Phone]) -> None:
    olena = olena_in(page, phone, "ru")

    queue = olena.get("/operators/").get_data(as_text=True)

    assert open_button(queue).endswith(">Открыть")
    assert '<option value="open" selected>Открыта</option>' in queue  # the status stays


def test_olena_reads_the_whole_page_in_ukrainian(page: Flask,
                                                 phone: Callable[..., Phone]) -> None:
    olena = olena_in(page, phone, "uk")

    queue = olena.get("/operators/").get_data(as_text=True)
    [request] = requests_in(page)
    details = olena.get(f"/operators/requests/{request.id}").get_data(as_text=True)

    assert '<html lang="uk">' in queue and "Черга зворотних дзвінків" in queue
    assert open_button(queue).endswith(">Відкрити")
    assert '<option value="open" selected>Відкрита</option>' in queue
    assert "1 заявка" in queue and "Мій пароль" in queue
    assert "Передзвонити через мій телефон" in details and "Додати нотатку" in details


def test_the_sign_in_page_offers_ukrainian(page: Flask) -> None:
    shown = page.test_client().get("/operators/login?lang=uk").get_data(as_text=True)

    assert '<html lang="uk">' in shown and "Вхід" in shown and "Логін" in shown


def test_a_page_language_we_do_not_have_is_not_taken(page: Flask) -> None:
    olena = sign_in(page, "olena")

    olena.post("/operators/language", data={"page_language": "de", "next": "/operators/"})

    assert '<html lang="en">' in olena.get("/operators/").get_data(as_text=True)
