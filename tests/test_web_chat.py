"""The website's chat, told as stories: Oksana writes from the website in Ukrainian, Olena
(Ukrainian and Russian) takes her chat, Ivan (Russian only) never sees it, Sofia supervises.
The chat walks the same menu as a call, leaves callback requests in the same queue, keeps
its messages sealed, and answers whatever is sent with a readable page."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from flask import Flask

from ivr.chat import desk
from ivr.database import db
from ivr.menu.journey import walk
from ivr.models import CallbackRequest, Operator
from ivr.operations import key_rotation, retention
from ivr.operators.identity import staff_of
from tests.chat_support import Person, chats_in, on_duty, raw_messages
from tests.fake_twilio import FakeTwilio
from tests.page_support import add_people, requests_in, sign_in, without_csrf
from tests.support import hotline_of

NIGHT = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 03:00 in Kyiv: the desk is closed


def desk_with_olena(app: Flask) -> Flask:
    add_people(app)
    on_duty(app, "olena", "ivan")
    return app


def test_oksana_is_greeted_in_her_browsers_language_and_may_switch(desk_app: Flask) -> None:
    oksana = Person(desk_app)
    page = oksana.open()
    assert 'lang="uk"' in page and "Написати операторові зараз" in page
    assert "Піти зараз" in page  # leave now, on every page
    assert "Talk to an operator now" in oksana.open("/chat/?lang=en")
    assert "Написать оператору сейчас" in Person(desk_app, "ru-RU,ru").open()
    assert "Talk to an operator now" in Person(desk_app, "de-DE,de").open()  # the default


def test_the_chat_offers_the_options_of_the_phones_main_menu(desk_app: Flask) -> None:
    menu = hotline_of(desk_app).menu
    main = walk(menu, "main").node
    page = Person(desk_app).open()
    for option in main.options:
        shown = f'name="key" value="{option.key}"' in page
        assert shown == (option.prompt is not None), option  # "0" is not announced
    about = Person(desk_app).choose("3")
    assert "Наша допомога безкоштовна" in about and 'value="1"' in about  # and the menu


def test_another_language_from_the_menu_lists_the_languages(desk_app: Flask) -> None:
    page = Person(desk_app).choose("*")
    assert "Оберіть мову" in page and "English" in page and "Русский" in page


def test_oksana_reaches_olena_who_answers_and_her_page_shows_it(desk_app: Flask) -> None:
    desk_with_olena(desk_app)
    oksana = Person(desk_app)
    page = oksana.choose("1")
    assert "Ваше місце в черзі: 1." in page
    taras = Person(desk_app)
    assert "Ваше місце в черзі: 2." in taras.choose("1")
    oksana.write("Мені страшно, я не можу говорити вголос")

    olena = sign_in(without_csrf(desk_app), "olena")
    listing = olena.get("/operators/chats").get_data(as_text=True)
    [first, _second] = chats_in(desk_app)
    assert f"chat-{first.id}" in listing and "Мені страшно" not in listing
    response = olena.post(f"/operators/chats/{first.id}/take")
    assert response.headers["Location"].endswith(f"/operators/chats/{first.id}")
    chat_page = olena.get(f"/operators/chats/{first.id}").get_data(as_text=True)
    assert "Мені страшно, я не можу говорити вголос" in chat_page
    olena.post(f"/operators/chats/{first.id}/reply", data={"message": "Я з вами. Ви в безпеці?"})

    assert "Я з вами. Ви в безпеці?" in oksana.open()
    assert "Оператор з вами" in oksana.page
    assert "Ваше місце в черзі: 1." in taras.open()  # Oksana is no longer waiting
    updates = json.loads(oksana.client.get("/chat/updates?after=0").get_data(as_text=True))
    assert [m["text"] for m in updates["messages"] if m["author"] == "operator"] == [
        "Я з вами. Ви в безпеці?"]
    assert updates["status"] == "held"


def test_a_waiting_chat_rings_nobodys_phone(desk_app: Flask, twilio: FakeTwilio) -> None:
    desk_with_olena(desk_app)
    Person(desk_app).choose("1")
    assert [chat.status for chat in chats_in(desk_app)] == ["waiting"]
    assert twilio.placed == []


def test_olena_sees_new_messages_of_the_chat_she_holds_and_nobody_else_does(
        desk_app: Flask) -> None:
    desk_with_olena(desk_app)
    oksana = Person(desk_app)
    oksana.choose("1")
    [chat] = chats_in(desk_app)
    olena = sign_in(without_csrf(desk_app), "olena")
    sofia = sign_in(desk_app, "sofia")
    olena.post(f"/operators/chats/{chat.id}/take")
    oksana.write("<i>ще тут</i>")
    news = olena.get(f"/operators/chats/{chat.id}/updates?after=0").get_json()
    assert [m["text"] for m in news["messages"]] == ["An operator joined.", "<i>ще тут</i>"]
    assert sofia.get(f"/operators/chats/{chat.id}/updates").status_code == 404
    assert olena.get(f"/operators/chats/{chat.id}/updates?after=x").status_code == 200


def test_ivan_who_speaks_only_russian_never_sees_a_ukrainian_chat(desk_app: Flask) -> None:
    desk_with_olena(desk_app)
    Person(desk_app).choose("1")
    [chat] = chats_in(desk_app)
    ivan = sign_in(without_csrf(desk_app), "ivan")
    assert f"chat-{chat.id}" not in ivan.get("/operators/chats").get_data(as_text=True)
    assert ivan.post(f"/operators/chats/{chat.id}/take").status_code == 404
    assert ivan.get(f"/operators/chats/{chat.id}").status_code == 404


def test_two_operators_cannot_both_take_one_chat(desk_app: Flask) -> None:
    desk_with_olena(desk_app)
    Person(desk_app).choose("1")
    [chat] = chats_in(desk_app)
    with desk_app.app_context():
        session = db.session()
        olena, sofia = (staff_of(session.scalars(sa.select(Operator).where(
            Operator.login == login)).one()) for login in ("olena", "sofia"))
        vault = hotline_of(desk_app).vault
        now = hotline_of(desk_app).clock.now()
        assert desk.take(session, vault, olena, chat.id, now) == "yours"
        assert desk.take(session, vault, sofia, chat.id, now) == "taken"
        session.commit()
    sofia_page = sign_in(without_csrf(desk_app), "sofia")
    refused = sofia_page.post(f"/operators/chats/{chat.id}/take", follow_redirects=True)
    assert "Someone else took this chat" in refused.get_data(as_text=True)
    # Sofia, a supervisor, does not read a chat Olena holds.
    hidden = sofia_page.get(f"/operators/chats/{chat.id}", follow_redirects=True)
    assert "This chat is not yours" in hidden.get_data(as_text=True)
    [held] = chats_in(desk_app)
    assert held.status == "held" and held.operator_id is not None


def test_at_night_oksana_is_offered_a_request_instead(app: Flask) -> None:
    hotline_of(app).clock.fixed = NIGHT
    desk_with_olena(app)
    page = Person(app).choose("1")
    assert "Зараз оператори не працюють" in page  # the phone's own words
    assert "/chat/callback?lang=uk&amp;reason=out_of_hours" in page
    assert chats_in(app) == []


def test_with_nobody_on_duty_oksana_is_offered_a_request(desk_app: Flask) -> None:
    add_people(desk_app)
    page = Person(desk_app).choose("1")
    assert "Вільних операторів зараз немає" in page and chats_in(desk_app) == []


def test_a_callback_request_from_the_chat_joins_the_operators_queue(desk_app: Flask) -> None:
    desk_with_olena(desk_app)
    oksana = Person(desk_app)
    assert "Номер телефону" in oksana.choose("2")
    page = oksana.post("/chat/callback", number="050 123 45 67", identify="2", window="3",
                       message="Пишіть увечері, після дев'ятої", reason="chosen")
    [request] = requests_in(desk_app)
    assert f"Її номер — {request.reference}" in page
    assert request.language == "uk" and request.safe_window == "evening"
    assert request.may_identify is False and request.number_confirmed is True
    assert request.first_call_sid.startswith("WC")
    assert "+380501234567" not in request.number  # sealed like every number
    olena = sign_in(without_csrf(desk_app), "olena")
    queue = olena.get("/operators/").get_data(as_text=True)
    row = queue[queue.index(f'id="request-{request.id}"'):]
    assert '<td data-label="Channel" class="channel">Web chat</td>' in row[:row.index("</tr>")]
    olena.post(f"/operators/requests/{request.id}/claim")
    shown = olena.get(f"/operators/requests/{request.id}").get_data(as_text=True)
    assert "Пишіть увечері, після дев&#39;ятої" in shown
    [kept] = raw_messages(desk_app)
    assert "увечері" not in kept.body


def test_a_number_that_is_not_a_number_is_asked_for_again(desk_app: Flask) -> None:
    oksana = Person(desk_app)
    oksana.open("/chat/callback")
    page = oksana.post("/chat/callback", number="12ab", identify="1", window="1", message="")
    assert oksana.status == 400 and "Це не схоже на номер телефону" in page
    assert 'value="12ab"' in page and requests_in(desk_app) == []


def test_a_written_request_is_answered_on_oksanas_page(app: Flask) -> None:
    hotline_of(app).clock.fixed = NIGHT  # a written request waits whatever the hour
    desk_with_olena(app)
    oksana = Person(app)
    oksana.open("/chat/written")
    page = oksana.post("/chat/written", message="Як оформити допомогу?")
    assert "Заявку збережено" in page and "Як оформити допомогу?" in page
    [chat] = chats_in(app)
    assert chat.mode == "written" and chat.status == "waiting"
    olena = sign_in(without_csrf(app), "olena")
    olena.post(f"/operators/chats/{chat.id}/take")
    olena.post(f"/operators/chats/{chat.id}/reply", data={"message": "Ось як це зробити."})
    olena.post(f"/operators/chats/{chat.id}/end")
    page = oksana.open()
    assert "Ось як це зробити." in page and "Розмову завершено" in page


def test_messages_are_stored_sealed_and_only_their_chat_opens_them(desk_app: Flask) -> None:
    desk_with_olena(desk_app)
    oksana = Person(desk_app)
    oksana.choose("1")
    oksana.write("Моя адреса: вулиця Садова, 5")
    [message] = raw_messages(desk_app)
    assert "Садова" not in message.body
    assert hotline_of(desk_app).vault.unseal(message.body) == "Моя адреса: вулиця Садова, 5"
    stranger = Person(desk_app)
    assert "Садова" not in stranger.open()
    assert "Садова" not in stranger.client.get("/chat/updates").get_data(as_text=True)


def test_leave_now_ends_the_chat_forgets_the_cookie_and_shows_a_neutral_page(
        desk_app: Flask) -> None:
    desk_with_olena(desk_app)
    oksana = Person(desk_app)
    oksana.choose("1")
    response = oksana.client.post("/chat/leave", data={"form_token": oksana.token()})
    assert response.status_code == 303 and response.headers["Location"] == "/weather"
    assert any(header.startswith("chat=;") and "Path=/chat/" in header
               for header in response.headers.getlist("Set-Cookie"))
    neutral = oksana.client.get("/weather", headers=oksana.headers).get_data(as_text=True)
    assert "Погода" in neutral and "Ctrl+Shift+Delete" in neutral
    assert "чат" not in neutral.lower() and "лінія" not in neutral.lower()
    [chat] = chats_in(desk_app)
    assert chat.status == "ended"
    assert "Написати операторові зараз" in oksana.open()  # a fresh start, nothing of before


def test_after_olena_ends_the_chat_oksana_may_start_again_in_the_same_browser(
        desk_app: Flask) -> None:
    desk_with_olena(desk_app)
    oksana = Person(desk_app)
    oksana.choose("1")
    oksana.write("перша розмова")
    [chat] = chats_in(desk_app)
    olena = sign_in(without_csrf(desk_app), "olena")
    olena.post(f"/operators/chats/{chat.id}/take")
    olena.post(f"/operators/chats/{chat.id}/end")
    assert "Оператор завершив розмову" in oksana.open()
    page = oksana.post("/chat/written", message="ще питання")  # with the same cookie
    assert oksana.status == 200 and "ще питання" in page and "перша розмова" not in page
    page = oksana.choose("1")
    assert "ще питання" in page  # the chat on now is the one shown
    assert [each.status for each in chats_in(desk_app)] == ["ended", "waiting"]


def test_every_language_has_every_word_of_the_chat() -> None:
    from ivr.chat.texts import own_texts
    from ivr.settings import PROJECT_ROOT

    words = {lang: set(own_texts(PROJECT_ROOT / "prompts" / lang / "chat.yaml"))
             for lang in ("en", "ru", "uk")}
    assert words["en"] and words["en"] == words["ru"] == words["uk"]


def test_the_chat_keeps_one_session_cookie_and_takes_nothing_from_elsewhere(
        desk_app: Flask) -> None:
    response = desk_app.test_client().get("/chat/")
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1 and cookies[0].startswith("chat=")
    assert "Expires" not in cookies[0] and "HttpOnly" in cookies[0]
    assert "SameSite=Strict" in cookies[0] and "Path=/chat/" in cookies[0]
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert response.headers["Cache-Control"] == "no-store"
    assert "http://" not in response.get_data(as_text=True).replace("http://localhost", "")


def test_markup_is_shown_as_text_to_both_sides(desk_app: Flask) -> None:
    desk_with_olena(desk_app)
    oksana = Person(desk_app)
    oksana.choose("1")
    page = oksana.write('<script>alert(1)</script><b>hi</b>')
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    [chat] = chats_in(desk_app)
    olena = sign_in(without_csrf(desk_app), "olena")
    olena.post(f"/operators/chats/{chat.id}/take")
    shown = olena.get(f"/operators/chats/{chat.id}").get_data(as_text=True)
    assert "<b>hi</b>" not in shown and "&lt;b&gt;hi&lt;/b&gt;" in shown


def test_control_characters_are_dropped(desk_app: Flask) -> None:
    desk_with_olena(desk_app)
    oksana = Person(desk_app)
    oksana.choose("1")
    oksana.write("до\x00пом\x1bога\u202e\r\nтут")
    [message] = raw_messages(desk_app)
    assert hotline_of(desk_app).vault.unseal(message.body) == "допомога\nтут"
    assert oksana.write("\x00\x07 ") and oksana.status == 400
    assert "Спершу напишіть щось" in oksana.page


def test_a_message_over_the_limit_is_refused_and_kept_for_shortening(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(CHAT_MESSAGE_LIMIT="100")
    hotline_of(app).clock.fixed = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    desk_with_olena(app)
    oksana = Person(app)
    oksana.choose("1")
    page = oksana.write("а" * 101)
    assert oksana.status == 400 and "щонайбільше 100 символів" in page
    assert "а" * 101 in page and raw_messages(app) == []
    huge = oksana.client.post("/chat/send", data={"form_token": oksana.token(),
                                                  "message": "x" * 70_000},
                              headers=oksana.headers)
    assert huge.status_code == 413 and "Повідомлення задовге" in huge.get_data(as_text=True)


def test_a_flood_from_one_chat_is_asked_to_wait(make_app: Callable[..., Flask]) -> None:
    app = make_app(CHAT_MESSAGES_PER_MINUTE="3")
    hotline_of(app).clock.fixed = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    desk_with_olena(app)
    oksana = Person(app)
    oksana.choose("1")
    for number in range(3):
        oksana.write(f"повідомлення {number}")
        assert oksana.status == 200
    page = oksana.write("ще одне")
    assert oksana.status == 429 and "Зачекайте трохи" in page and "ще одне" in page
    assert len(raw_messages(app)) == 3
    hotline_of(app).clock.fixed = datetime(2026, 11, 25, 12, 2, tzinfo=UTC)
    oksana.write("ще одне")
    assert oksana.status == 200 and len(raw_messages(app)) == 4


def test_a_form_without_the_chats_token_is_refused_readably(desk_app: Flask) -> None:
    desk_with_olena(desk_app)
    oksana = Person(desk_app)
    oksana.open()
    forged = oksana.client.post("/chat/choose", data={"key": "1", "node": "main"},
                                headers=oksana.headers)
    assert forged.status_code == 400 and "Ця сторінка застаріла" in forged.get_data(
        as_text=True)
    no_cookie = desk_app.test_client().post("/chat/send", data={"message": "привіт"},
                                            headers=oksana.headers)
    assert no_cookie.status_code == 400 and "cookie" in no_cookie.get_data(as_text=True)
    assert chats_in(desk_app) == []
    olena = sign_in(without_csrf(desk_app), "olena")
    desk_app.config["WTF_CSRF_ENABLED"] = True  # the operators' forms keep their own check
    oksana.choose("1")
    [chat] = chats_in(desk_app)
    assert olena.post(f"/operators/chats/{chat.id}/take").status_code == 400


def test_odd_requests_get_a_readable_page(desk_app: Flask) -> None:
    oksana = Person(desk_app)
    oksana.open()
    assert "Ласкаво" not in oksana.choose("9")  # no such key: the menu again
    assert oksana.status == 200 and 'value="1"' in oksana.page
    oksana.post("/chat/choose", key="1", node="no-such-node")
    assert oksana.status == 200
    gone = oksana.client.get("/chat/nothing-here")
    assert gone.status_code == 404
    assert oksana.client.get("/chat/updates?after=99999999999999999999").status_code == 200
    add_people(desk_app)
    sofia = sign_in(without_csrf(desk_app), "sofia")
    assert sofia.get("/operators/chats/999999").status_code == 404
    assert sofia.get(f"/operators/chats/{2**63}").status_code == 404


def test_purge_removes_chats_that_ended_long_ago_and_keeps_waiting_ones(
        desk_app: Flask) -> None:
    desk_with_olena(desk_app)
    left = Person(desk_app)
    left.choose("1")
    left.write("старе")
    left.client.post("/chat/leave", data={"form_token": left.token()})
    waiting = Person(desk_app)
    waiting.choose("1")
    waiting.write("ще чекаю")
    hotline = hotline_of(desk_app)
    purged = retention.purge(hotline.engine, hotline.twilio,
                             hotline.clock.now() + timedelta(days=1))
    assert purged.conversations == 1
    [kept] = chats_in(desk_app)
    assert kept.status == "waiting"
    assert [hotline.vault.unseal(m.body) for m in raw_messages(desk_app)] == ["ще чекаю"]


def test_a_message_left_with_a_callback_request_goes_when_the_request_goes(
        desk_app: Flask) -> None:
    oksana = Person(desk_app)
    oksana.open("/chat/callback")
    oksana.post("/chat/callback", number="+380501234567", identify="1", window="1",
                message="після обіду")
    with desk_app.app_context():
        db.session.execute(sa.update(CallbackRequest).values(
            status="reached", outcome="reached", closed_at=hotline_of(desk_app).clock.now()))
        db.session.commit()
    hotline = hotline_of(desk_app)
    retention.purge(hotline.engine, hotline.twilio, hotline.clock.now() + timedelta(days=1))
    assert requests_in(desk_app) == [] and chats_in(desk_app) == [] \
        and raw_messages(desk_app) == []


def test_keys_rotate_re_encrypts_chat_messages(make_app: Callable[..., Flask]) -> None:
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    app = make_app(PHONE_ENCRYPTION_KEYS=old_key)
    hotline_of(app).clock.fixed = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    desk_with_olena(app)
    oksana = Person(app)
    oksana.choose("1")
    oksana.write("таємниця")
    done = key_rotation.rotate_all(hotline_of(app).engine, (new_key, old_key), lambda _: None)
    assert any(each.column == "chat_messages.body" and each.rewritten == 1 for each in done)
    [message] = raw_messages(app)
    assert Fernet(new_key.encode()).decrypt(message.body.encode()).decode() == "таємниця"


def test_no_message_text_reaches_the_log(desk_app: Flask,
                                        caplog: pytest.LogCaptureFixture) -> None:
    desk_with_olena(desk_app)
    caplog.set_level(logging.DEBUG)
    oksana = Person(desk_app)
    oksana.choose("1")
    oksana.write("секретне слово")
    logged = " ".join(record.getMessage() + str(record.__dict__) for record in caplog.records)
    assert "секретне" not in logged


def test_on_postgresql_too_one_operator_takes_a_chat_and_purge_leaves_it(
        postgres_app: Flask) -> None:
    hotline_of(postgres_app).clock.fixed = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    desk_with_olena(postgres_app)
    oksana = Person(postgres_app)
    oksana.choose("1")
    oksana.write("на PostgreSQL")
    [chat] = chats_in(postgres_app)
    olena = sign_in(without_csrf(postgres_app), "olena")
    sofia = sign_in(postgres_app, "sofia")
    olena.post(f"/operators/chats/{chat.id}/take")
    refused = sofia.post(f"/operators/chats/{chat.id}/take", follow_redirects=True)
    assert "Someone else took this chat" in refused.get_data(as_text=True)
    assert "на PostgreSQL" in olena.get(f"/operators/chats/{chat.id}").get_data(as_text=True)
    hotline = hotline_of(postgres_app)
    purged = retention.purge(hotline.engine, hotline.twilio,
                             hotline.clock.now() + timedelta(days=1))
    assert purged.conversations == 0 and len(raw_messages(postgres_app)) == 2
