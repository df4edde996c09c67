"""The Telegram bot, told as stories: Oksana writes to the line from Telegram (her phone is
checked by others, she cannot speak aloud), walks the same journey as on the website with
buttons, and Olena answers her from the operators' page; Olena's words reach Telegram through
the faked Bot API. Oksana's Telegram id is kept like a phone number: encrypted, beside a
digest, never logged, never shown."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import responses
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ivr.database import db
from ivr.models import CallbackRequest, Operator, TelegramChat
from ivr.operations import key_rotation, periodic, retention
from ivr.operators.presence import AVAILABLE
from ivr.settings import DEV_TELEGRAM_WEBHOOK_SECRET, ConfigError, load_settings
from tests.chat_support import chats_in, on_duty, raw_messages
from tests.conftest import NOON
from tests.page_support import add_people, sign_in, without_csrf
from tests.support import hotline_of
from tests.telegram_support import BOT_SETTINGS, SECRET, TOKEN, FakeTelegram, TelegramPerson
from tests.test_settings import PRODUCTION

OKSANA = 5550001234  # her Telegram chat id (her user id too: a private chat)
TARAS = 5550009876
NIGHT = NOON.replace(hour=1)  # 03:00 in Kyiv: nobody answers the phone or a chat now


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeTelegram(mock)


@pytest.fixture
def bot_app(make_app: Callable[..., Flask]) -> Flask:
    return desk(make_app(**BOT_SETTINGS))


def desk(app: Flask) -> Flask:
    """Noon, Olena (Ukrainian, Russian) and Ivan (Russian) on duty and available."""
    hotline_of(app).clock.fixed = NOON
    add_people(app)
    on_duty(app, "olena", "ivan")
    with app.app_context():
        db.session.execute(sa.update(Operator).where(Operator.login.in_(("olena", "ivan")))
                           .values(presence=AVAILABLE))
        db.session.commit()
    return without_csrf(app)


def oksana_talking(app: Flask, telegram: FakeTelegram) -> TelegramPerson:
    """Oksana has written /start, chosen Ukrainian and asked for an operator."""
    oksana = TelegramPerson(app, OKSANA, "en")
    oksana.write("/start")
    oksana.write("Українська")
    oksana.write("Написати операторові зараз")
    return oksana


def olena_takes(app: Flask) -> tuple[FlaskClient, int]:
    olena = sign_in(app, "olena")
    [chat] = [chat for chat in chats_in(app) if chat.status == "waiting"]
    olena.post(f"/operators/chats/{chat.id}/take")
    return olena, chat.id


def test_oksana_writes_from_telegram_and_olena_answers_her_there(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    oksana = TelegramPerson(bot_app, OKSANA, "en")
    assert oksana.write("/start") == 200
    assert telegram.texts_to(OKSANA)[-1] == "Choose a language"
    assert telegram.last_buttons(OKSANA) == ["Русский", "Українська", "English"]
    oksana.write("Українська")
    buttons = telegram.last_buttons(OKSANA)
    assert "Написати операторові зараз" in buttons and "Як працює лінія" in buttons
    assert "Залишити заявку: відповімо тут письмово" in buttons
    oksana.write("Написати операторові зараз")
    assert "Ваше місце в черзі: 1." in telegram.texts_to(OKSANA)[-1]
    assert telegram.last_buttons(OKSANA) == ["Завершити розмову"]
    oksana.write("Мені страшно, я не можу говорити вголос")

    olena = sign_in(bot_app, "olena")
    listing = olena.get("/operators/chats").get_data(as_text=True)
    [chat] = chats_in(bot_app)
    assert chat.channel == "telegram" and chat.language == "uk"
    assert f"chat-{chat.id}" in listing and "Telegram" in listing
    assert "Мені страшно" not in listing
    olena.post(f"/operators/chats/{chat.id}/take")
    page = olena.get(f"/operators/chats/{chat.id}").get_data(as_text=True)
    assert "Мені страшно, я не можу говорити вголос" in page and "Telegram" in page
    assert str(OKSANA) not in page and "oksana_from_kyiv" not in page
    assert telegram.texts_to(OKSANA)[-1] == "Оператор приєднався до розмови."

    response = olena.post(f"/operators/chats/{chat.id}/reply",
                          data={"message": "Я з вами. Ви в безпеці?"})
    assert response.status_code == 302
    assert telegram.sent_to(OKSANA)[-1] == {"chat_id": OKSANA,
                                            "text": "Я з вами. Ви в безпеці?"}
    assert "Not yet delivered" not in olena.get(
        f"/operators/chats/{chat.id}").get_data(as_text=True)


def test_olena_ending_the_chat_brings_oksana_back_to_the_menu(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    oksana = oksana_talking(bot_app, telegram)
    olena, chat_id = olena_takes(bot_app)
    olena.post(f"/operators/chats/{chat_id}/end")
    assert "Оператор завершив розмову." in telegram.texts_to(OKSANA)
    assert "Написати операторові зараз" in telegram.last_buttons(OKSANA)
    oksana.write("Написати операторові зараз")
    assert len(chats_in(bot_app)) == 2  # a new conversation, the old one stays ended


def test_an_update_without_telegrams_secret_is_refused(
        bot_app: Flask, make_app: Callable[..., Flask], telegram: FakeTelegram) -> None:
    forger = TelegramPerson(bot_app, OKSANA)
    update = forger.update({"text": "/start"})
    assert forger.post(update, secret=None) == 403
    assert forger.post(update, secret="guessed") == 403
    assert forger.post(update, secret=SECRET + "x") == 403
    assert forger.post(update, secret="") == 403
    no_bot = TelegramPerson(make_app(), OKSANA)  # no TELEGRAM_BOT_TOKEN: no bot at all
    assert no_bot.post(no_bot.update({"text": "/start"})) == 403
    assert telegram.calls == []
    with bot_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TelegramChat)) == 0


def test_oksana_writing_again_reaches_the_same_conversation(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    oksana_talking(bot_app, telegram)
    again = TelegramPerson(bot_app, OKSANA, "uk")  # later, from another device
    again.write("/start")
    assert "Ваше місце в черзі: 1." in telegram.texts_to(OKSANA)[-1]
    again.write("Я ще тут")
    TelegramPerson(bot_app, TARAS).write("/start")
    [chat] = chats_in(bot_app)
    assert [message.author for message in raw_messages(bot_app)] == ["person"]
    assert raw_messages(bot_app)[0].conversation_id == chat.id
    with bot_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TelegramChat)) == 2


def test_oksana_waiting_quietly_in_telegram_is_not_taken_for_gone(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    """A closed browser ends a waiting web chat after CHAT_IDLE_MINUTES; Telegram has no page
    to close: she reads the answer whenever it comes."""
    oksana_talking(bot_app, telegram)
    hotline_of(bot_app).clock.fixed = NOON + timedelta(hours=1)

    assert periodic.end_idle_chats(hotline_of(bot_app)) == {"ended": 0}
    [chat] = chats_in(bot_app)
    assert chat.status == "waiting"


def test_her_telegram_id_is_kept_only_encrypted_beside_a_digest(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    oksana_talking(bot_app, telegram)
    TelegramPerson(bot_app, OKSANA).write("Мене звати Оксана")
    with bot_app.app_context():
        tables = ("telegram_chats", "chat_conversations", "chat_messages")
        stored = " ".join(str(row) for table in tables
                          for row in db.session.execute(sa.text(f"SELECT * FROM {table}")))  # noqa: S608
        [person] = db.session.scalars(sa.select(TelegramChat))
        [chat] = chats_in(bot_app)
        assert hotline_of(bot_app).vault.decrypt(person.chat_id) == str(OKSANA)
    assert str(OKSANA) not in stored and "oksana_from_kyiv" not in stored
    assert "Оксана" not in stored  # her message is sealed
    assert chat.token_hash == person.chat_hash  # her conversation is found by the digest


def test_key_rotation_and_purge_cover_the_bots_people(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    oksana = oksana_talking(bot_app, telegram)
    oksana.write("Завершити розмову")
    columns = {column for _key, column in key_rotation.ENCRYPTED_COLUMNS}
    assert {TelegramChat.chat_id, TelegramChat.draft} <= columns
    hotline = hotline_of(bot_app)
    purged = retention.purge(hotline.engine, hotline.twilio, NOON + timedelta(days=1))
    assert purged.conversations == 1 and purged.telegram_people == 1
    with bot_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TelegramChat)) == 0


def test_a_malformed_or_unknown_update_is_answered_200_and_logged_without_content(
        bot_app: Flask, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    oksana = TelegramPerson(bot_app, OKSANA)
    assert oksana.post("{not json") == 200
    assert oksana.post([1, 2, 3]) == 200
    assert oksana.post({"update_id": 1, "edited_message": {"text": "секрет"}}) == 200
    assert oksana.post(oksana.update({"chat": {"id": -100, "type": "group"},
                                      "text": "секрет"})) == 200
    assert oksana.post(oksana.update({"chat": {"id": "5550001234", "type": "private"},
                                      "text": "секрет"})) == 200
    assert oksana.post({"update_id": 2, "message": "секрет"}) == 200
    assert telegram.calls == []
    assert "секрет" not in caplog.text and str(OKSANA) not in caplog.text
    assert "edited_message" in caplog.text


def test_a_sticker_a_photo_or_a_voice_message_is_told_only_text_is_read(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    oksana = TelegramPerson(bot_app, OKSANA, "uk")
    for message in ({"sticker": {"file_id": "x", "emoji": "😢"}},
                    {"photo": [{"file_id": "p", "width": 90, "height": 90}]},
                    {"voice": {"file_id": "v", "duration": 4}}):
        assert oksana.post(oksana.update(message)) == 200
        assert telegram.texts_to(OKSANA)[-1] == (
            "Тут читаються лише текстові повідомлення: будь ласка, напишіть словами.")


def test_a_message_over_the_limit_is_refused_and_the_limit_told(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    oksana = oksana_talking(bot_app, telegram)
    assert oksana.write("я" * 2001) == 200
    assert "щонайбільше 2000 символів" in telegram.texts_to(OKSANA)[-1]
    assert raw_messages(bot_app) == []
    assert oksana.write("\x00\x07 \u200b") == 200  # nothing left once cleaned
    assert telegram.texts_to(OKSANA)[-1] == "Спершу напишіть щось, будь ласка."


def test_markup_is_kept_as_plain_text_both_ways(bot_app: Flask, telegram: FakeTelegram) -> None:
    oksana = oksana_talking(bot_app, telegram)
    olena, chat_id = olena_takes(bot_app)
    oksana.write("<script>alert(1)</script> *жирний*\x07\u202e")
    page = olena.get(f"/operators/chats/{chat_id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; *жирний*" in page and "<script>alert" not in page
    olena.post(f"/operators/chats/{chat_id}/reply", data={"message": "<b>Я тут</b> _так_ [x](y)"})
    sent = telegram.sent_to(OKSANA)[-1]
    assert sent == {"chat_id": OKSANA, "text": "<b>Я тут</b> _так_ [x](y)"}  # no parse_mode


def test_a_flood_from_one_telegram_id_is_told_to_wait_once(
        make_app: Callable[..., Flask], telegram: FakeTelegram) -> None:
    app = desk(make_app(**BOT_SETTINGS, CHAT_MESSAGES_PER_MINUTE="3"))
    oksana = oksana_talking(app, telegram)
    statuses = {oksana.write(f"повідомлення {n}") for n in range(20)}
    assert statuses == {200}
    assert len(raw_messages(app)) == 3
    waits = [text for text in telegram.texts_to(OKSANA) if "зачекайте трохи" in text]
    assert waits == ["Будь ласка, зачекайте трохи: це повідомлення не передано. "
                     "Надішліть його знову за хвилину."]
    hotline_of(app).clock.fixed = NOON + timedelta(minutes=2)
    oksana.write("а тепер?")
    assert len(raw_messages(app)) == 4


def test_a_flood_of_menu_presses_or_stickers_gets_one_wait_not_an_answer_each(
        make_app: Callable[..., Flask], telegram: FakeTelegram) -> None:
    """Outside a conversation every message is answered: a person pressing the menu's
    buttons (or sending stickers) as fast as they can gets their first answers, then one
    "wait", and the bot goes on answering everyone else; a minute later, them too."""
    app = desk(make_app(**BOT_SETTINGS, CHAT_MESSAGES_PER_MINUTE="3"))
    oksana = TelegramPerson(app, OKSANA, "uk")
    statuses = {oksana.write("Як працює лінія") for _ in range(20)}
    statuses |= {oksana.post(oksana.update({"sticker": {"file_id": "x", "emoji": "😢"}}))
                 for _ in range(5)}
    assert statuses == {200}
    texts = telegram.texts_to(OKSANA)
    waits = [text for text in texts if "зачекайте трохи" in text]
    assert len(waits) == 1
    assert len(texts) <= 3 * 2 + 1  # an answer may come in two messages (a text, the menu)

    andriy = TelegramPerson(app, OKSANA + 1, "uk")
    andriy.write("/start")
    assert telegram.texts_to(OKSANA + 1), "someone else is still answered"

    hotline_of(app).clock.fixed = NOON + timedelta(minutes=2)
    before = len(telegram.texts_to(OKSANA))
    oksana.write("/start")
    assert len(telegram.texts_to(OKSANA)) > before


def test_a_reply_telegram_does_not_take_is_shown_to_olena_and_sent_again(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    oksana_talking(bot_app, telegram)
    olena, chat_id = olena_takes(bot_app)
    telegram.refusing = True
    response = olena.post(f"/operators/chats/{chat_id}/reply", data={"message": "Я тут"})
    assert response.status_code == 302
    page = olena.get(f"/operators/chats/{chat_id}").get_data(as_text=True)
    assert "Not yet delivered to Telegram: 1" in page and "Я тут" in page
    telegram.refusing = False
    hotline = hotline_of(bot_app)
    hotline.clock.fixed = NOON + timedelta(minutes=5)
    assert periodic.deliver_telegram(hotline) == {"sent": 1}
    assert telegram.texts_to(OKSANA)[-1] == "Я тут"
    assert "Not yet delivered" not in olena.get(
        f"/operators/chats/{chat_id}").get_data(as_text=True)


def test_what_olena_wrote_reaches_oksana_before_anything_new_starts(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    """Telegram refused Olena's last words and the end of the chat; Oksana asks for someone
    again before they were sent: they go first, and nothing new starts until they have."""
    oksana = oksana_talking(bot_app, telegram)
    olena, chat_id = olena_takes(bot_app)
    telegram.refusing = True
    olena.post(f"/operators/chats/{chat_id}/reply", data={"message": "Бережіть себе"})
    olena.post(f"/operators/chats/{chat_id}/end")

    oksana.write("Написати операторові зараз")  # still refused: nothing is started

    assert [chat.status for chat in chats_in(bot_app)] == ["ended"]
    telegram.refusing = False
    oksana.write("Написати операторові зараз")
    assert "Бережіть себе" in telegram.texts_to(OKSANA)
    oksana.write("Написати операторові зараз")
    assert sorted(chat.status for chat in chats_in(bot_app)) == ["ended", "waiting"]


def test_oksana_asks_to_be_called_back_from_telegram(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    oksana = TelegramPerson(bot_app, OKSANA, "uk")
    oksana.write("/start")
    oksana.write("Українська")
    oksana.write("Попросити нас передзвонити")
    assert "Номер телефону" in telegram.texts_to(OKSANA)[-1]
    oksana.write("12345")
    assert "Це не схоже на номер телефону" in telegram.texts_to(OKSANA)[-1]
    oksana.write("+380 50 123 45 67")
    assert telegram.last_buttons(OKSANA)[:2] == ["Так", "Ні"]
    oksana.write("Ні")
    oksana.write("Увечері")
    oksana.write("Без повідомлення")
    assert "Заявку збережено. Її номер" in telegram.texts_to(OKSANA)[-2]
    with bot_app.app_context():
        [request] = db.session.scalars(sa.select(CallbackRequest))
        assert (request.language, request.may_identify, request.safe_window) == (
            "uk", False, "evening")
        assert hotline_of(bot_app).vault.decrypt(request.number) == "+380501234567"


def test_at_night_oksana_leaves_a_request_answered_in_telegram(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    hotline_of(bot_app).clock.fixed = NIGHT
    oksana = oksana_talking(bot_app, telegram)
    assert telegram.last_buttons(oksana.chat_id)[:2] == [
        "Попросити нас передзвонити", "Залишити заявку: відповімо тут письмово"]
    oksana.write("Залишити заявку: відповімо тут письмово")
    oksana.write("Мені потрібна допомога з документами")
    assert telegram.texts_to(OKSANA)[-1] == (
        "Заявку збережено. Оператор відповість тут, у цьому чаті.")
    hotline_of(bot_app).clock.fixed = NOON
    olena, chat_id = olena_takes(bot_app)
    olena.post(f"/operators/chats/{chat_id}/reply", data={"message": "Добрий день, я Олена."})
    assert telegram.texts_to(OKSANA)[-1] == "Добрий день, я Олена."


def test_the_bot_speaks_the_language_of_her_telegram_app_when_it_is_ours(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    TelegramPerson(bot_app, OKSANA, "ru").write("/start")
    assert telegram.texts_to(OKSANA)[-1] == "Выберите язык"
    TelegramPerson(bot_app, TARAS, "de").write("/start")
    assert telegram.texts_to(TARAS)[-1] == "Choose a language"


def test_nothing_she_wrote_nor_her_id_is_in_the_log(
        bot_app: Flask, telegram: FakeTelegram, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    oksana = oksana_talking(bot_app, telegram)
    oksana.write("Мене звати Оксана, я в Харкові")
    olena, chat_id = olena_takes(bot_app)
    telegram.refusing = True
    olena.post(f"/operators/chats/{chat_id}/reply", data={"message": "Оксано, я з вами"})
    oksana.write("Ви тут?")
    assert "not delivered" in caplog.text
    for secret in (str(OKSANA), "Оксана", "Харкові", "Оксано", "oksana_from_kyiv", TOKEN):
        assert secret not in caplog.text


def test_set_webhook_registers_the_url_and_the_secret(
        make_app: Callable[..., Flask], telegram: FakeTelegram) -> None:
    app = make_app(**BOT_SETTINGS, PUBLIC_BASE_URL="https://hotline.example.org")
    result = app.test_cli_runner().invoke(args=["telegram", "set-webhook"])
    assert result.exit_code == 0, result.output
    assert result.output == ("Telegram sends the bot's messages to "
                             "https://hotline.example.org/telegram/webhook\n")
    assert telegram.calls == [("setWebhook", {
        "url": "https://hotline.example.org/telegram/webhook", "secret_token": SECRET,
        "allowed_updates": ["message"]})]


def test_set_webhook_with_a_refused_token_says_so_in_one_line(
        make_app: Callable[..., Flask], telegram: FakeTelegram) -> None:
    app = make_app(**BOT_SETTINGS, PUBLIC_BASE_URL="https://hotline.example.org")
    telegram.token_refused = True
    result = app.test_cli_runner().invoke(args=["telegram", "set-webhook"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "ivr: Telegram did not take the webhook: Telegram refused setWebhook: HTTP 401 "
        "(Unauthorized)"]
    assert TOKEN not in result.output
    no_bot = make_app(PUBLIC_BASE_URL="https://hotline.example.org")
    result = no_bot.test_cli_runner().invoke(args=["telegram", "set-webhook"])
    assert result.exit_code == 1 and "TELEGRAM_BOT_TOKEN is not set" in result.output


def production(**values: str) -> dict[str, str]:
    return {**PRODUCTION, **values}


def test_production_needs_a_real_webhook_secret_with_a_bot(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET is not set"):
        load_settings(production(TELEGRAM_BOT_TOKEN=TOKEN), tmp_path)
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET is the development"):
        load_settings(production(TELEGRAM_BOT_TOKEN=TOKEN,
                                 TELEGRAM_WEBHOOK_SECRET=DEV_TELEGRAM_WEBHOOK_SECRET), tmp_path)
    with pytest.raises(ConfigError, match="TELEGRAM_WEBHOOK_SECRET must be"):
        load_settings({"TELEGRAM_WEBHOOK_SECRET": "with spaces"}, tmp_path)
    secret_file = tmp_path / "secret"
    secret_file.write_text(SECRET + "\n")
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN,
                              "TELEGRAM_WEBHOOK_SECRET_FILE": str(secret_file)}, tmp_path)
    assert settings.telegram_webhook_secret == SECRET


def test_how_the_line_works_and_another_language_are_buttons_too(
        bot_app: Flask, telegram: FakeTelegram) -> None:
    oksana = TelegramPerson(bot_app, OKSANA, "uk")
    oksana.write("/start")
    oksana.write("Українська")
    oksana.write("Як працює лінія")
    assert "Наша допомога безкоштовна" in telegram.texts_to(OKSANA)[-1]
    assert "Написати операторові зараз" in telegram.last_buttons(OKSANA)  # and the menu
    oksana.write("Інша мова")
    assert telegram.texts_to(OKSANA)[-1] == "Оберіть мову"
    oksana.write("English")
    assert "Talk to an operator now" in telegram.last_buttons(OKSANA)
    oksana.write("something she typed that is no button")
    assert "Talk to an operator now" in telegram.last_buttons(OKSANA)  # the menu again


def test_an_answer_longer_than_telegram_takes_goes_in_parts(
        make_app: Callable[..., Flask], telegram: FakeTelegram) -> None:
    app = desk(make_app(**BOT_SETTINGS, CHAT_MESSAGE_LIMIT="5000"))
    oksana_talking(app, telegram)
    olena, chat_id = olena_takes(app)
    olena.post(f"/operators/chats/{chat_id}/reply", data={"message": "а" * 5000})
    assert [len(text) for text in telegram.texts_to(OKSANA)[-2:]] == [4096, 904]
