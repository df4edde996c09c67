"""One queue for every channel, told as stories: Oksana writes from the website in Ukrainian,
Taras calls; Olena (Ukrainian and Russian) sees both in her queue, each with its channel, and
takes Oksana's chat from it; Ivan (Russian only) never sees it. An operator holding a chat is
busy; ending it is wrap-up; only an available operator takes one. The figures and the
wallboard count each channel, and a chat whose person went away without "leave now" ends."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ivr.chat import conversations
from ivr.database import db
from ivr.models import ChatConversation, Operator
from ivr.operations import periodic
from ivr.operators import figures, presence
from ivr.twilio.phone_simulator import Phone
from tests.chat_support import Person, chats_in, on_duty
from tests.conftest import NOON
from tests.fake_twilio import FakeTwilio
from tests.page_support import add_people, request_by_call, sign_in, without_csrf
from tests.support import hotline_of

Dial = Callable[..., Phone]


def the_desk(app: Flask) -> Flask:
    add_people(app)
    on_duty(app, "olena", "ivan")
    return without_csrf(app)


def queue_of(client: FlaskClient, query: str = "") -> str:
    response = client.get(f"/operators/{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def row(page: str, row_id: str) -> str:
    start = page.index(f'id="{row_id}"')
    return page[start:page.index("</tr>", start)]


def operator(app: Flask, login: str) -> Operator:
    with app.app_context():
        return db.session.scalars(sa.select(Operator).where(Operator.login == login)).one()


def set_presence(app: Flask, login: str, value: str) -> None:
    with app.app_context():
        db.session.execute(sa.update(Operator).where(Operator.login == login)
                           .values(presence=value))
        db.session.commit()


def later(app: Flask, minutes: float) -> None:
    clock = hotline_of(app).clock
    assert clock.fixed is not None
    clock.fixed = clock.fixed + timedelta(minutes=minutes)


def test_olena_sees_a_chat_and_a_call_in_one_queue_each_with_its_channel(
        desk_app: Flask, phone: Dial) -> None:
    the_desk(desk_app)
    request_by_call(phone)  # Taras called and left a callback request
    Person(desk_app).post("/chat/written", message="Як оформити допомогу?")
    Person(desk_app).choose("1")  # Oksana writes now, after the written request
    written, live = chats_in(desk_app)

    page = queue_of(sign_in(desk_app, "olena"))

    assert "Web chat" in row(page, f"chat-{live.id}")
    assert "Web chat" in row(page, f"chat-{written.id}")
    [request_row] = re.findall(r'id="(request-\d+)"', page)
    assert "Phone" in row(page, request_row)
    # A person writing now first, then the written request, then the callers' requests.
    assert page.index(f"chat-{live.id}") < page.index(f"chat-{written.id}") \
        < page.index(request_row)
    assert "writing now" in row(page, f"chat-{live.id}")
    assert "+ 2 chats" in page  # the header counts the chats waiting in Ukrainian


def test_ivan_who_speaks_only_russian_has_no_ukrainian_chat_in_his_queue(
        desk_app: Flask) -> None:
    the_desk(desk_app)
    Person(desk_app).choose("1")
    [chat] = chats_in(desk_app)

    assert f"chat-{chat.id}" not in queue_of(sign_in(desk_app, "ivan"))


def test_olena_takes_the_chat_from_the_queue_and_then_opens_it_there(desk_app: Flask) -> None:
    the_desk(desk_app)
    Person(desk_app).choose("1")
    [chat] = chats_in(desk_app)
    olena = sign_in(desk_app, "olena")
    assert f'action="/operators/chats/{chat.id}/take"' in row(queue_of(olena), f"chat-{chat.id}")

    taken = olena.post(f"/operators/chats/{chat.id}/take")

    assert taken.status_code == 302 and taken.location.endswith(f"/operators/chats/{chat.id}")
    assert f'href="/operators/chats/{chat.id}"' in row(queue_of(olena), f"chat-{chat.id}")
    sofia_sees = row(queue_of(sign_in(desk_app, "sofia")), f"chat-{chat.id}")
    assert "Taken by Olena" in sofia_sees and "/take" not in sofia_sees
    # The waiting view shows only the chats nobody holds.
    assert f"chat-{chat.id}" not in queue_of(olena, "?status=waiting")


def test_chats_show_on_the_first_page_of_the_open_queue_only(desk_app: Flask) -> None:
    the_desk(desk_app)
    Person(desk_app).choose("1")
    [chat] = chats_in(desk_app)
    olena = sign_in(desk_app, "olena")

    assert f"chat-{chat.id}" not in queue_of(olena, "?status=done")
    assert f"chat-{chat.id}" not in queue_of(olena, "?reason=chosen")
    assert f"chat-{chat.id}" not in queue_of(olena, "?language=ru")
    assert f"chat-{chat.id}" in queue_of(olena, "?language=uk")


def test_a_chat_waiting_in_the_queue_rings_nobodys_phone(desk_app: Flask,
                                                        twilio: FakeTwilio) -> None:
    the_desk(desk_app)
    Person(desk_app).choose("1")
    queue_of(sign_in(desk_app, "olena"))

    assert twilio.placed == []


def test_olena_holding_a_chat_is_busy_and_not_rung_for_a_caller(desk_app: Flask) -> None:
    the_desk(desk_app)
    Person(desk_app).choose("1")
    [chat] = chats_in(desk_app)
    olena = sign_in(desk_app, "olena")
    olena.post(f"/operators/chats/{chat.id}/take")

    with desk_app.app_context():
        ringable = presence.ringable(db.session(), "uk", NOON)
        states = presence.states(db.session(), NOON)
    assert "olena" not in [person.login for person in ringable]
    assert states[operator(desk_app, "olena").id] == "in_chat"
    assert "In a chat" in queue_of(olena)  # her own header says so
    board = olena.get("/operators/board/figures.json").get_json()
    assert board["operators"]["in_chat"] == 1
    assert {"name": "Olena K", "state": "in_chat"}.items() <= next(
        person for person in board["people"] if person["name"] == "Olena K").items()


def test_ending_a_chat_puts_olena_in_wrap_up_as_after_a_call(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(WRAP_UP_SECONDS="90")
    hotline_of(app).clock.fixed = NOON
    the_desk(app)
    Person(app).choose("1")
    [chat] = chats_in(app)
    olena = sign_in(app, "olena")
    olena.post(f"/operators/chats/{chat.id}/take")

    olena.post(f"/operators/chats/{chat.id}/end")

    assert operator(app, "olena").wrap_up_until == NOON + timedelta(seconds=90)
    with app.app_context():
        assert presence.states(db.session(), NOON)[operator(app, "olena").id] == "wrap_up"
        assert "olena" not in [p.login for p in presence.ringable(db.session(), "uk", NOON)]


def test_olena_on_a_break_is_told_to_set_herself_available_before_taking_a_chat(
        desk_app: Flask) -> None:
    the_desk(desk_app)
    Person(desk_app).choose("1")
    [chat] = chats_in(desk_app)
    olena = sign_in(desk_app, "olena")
    for away in ("break", "signed_off", "paused"):
        set_presence(desk_app, "olena", away)

        refused = olena.post(f"/operators/chats/{chat.id}/take", follow_redirects=True)

        assert refused.status_code == 200
        assert "Set yourself available first" in refused.get_data(as_text=True)
        assert [c.status for c in chats_in(desk_app)] == ["waiting"]
    set_presence(desk_app, "olena", "available")
    olena.post(f"/operators/chats/{chat.id}/take")
    assert [c.status for c in chats_in(desk_app)] == ["held"]


def test_a_forged_chat_id_in_the_queues_take_gets_a_readable_page(desk_app: Flask) -> None:
    the_desk(desk_app)
    olena = sign_in(desk_app, "olena")

    for forged in ("999999", "0", "99999999999999999999999"):
        response = olena.post(f"/operators/chats/{forged}/take")
        assert response.status_code == 404
        assert "<html" in response.get_data(as_text=True)


def chat_day(app: Flask) -> None:
    """Oksana's chat is taken and answered; Petro leaves before anyone takes his; Maria
    leaves a written request; Hanna leaves a callback request from the chat; Taras waits."""
    oksana = Person(app)
    oksana.choose("1")
    olena = sign_in(app, "olena")
    olena.post(f"/operators/chats/{chats_in(app)[-1].id}/take")
    petro = Person(app)
    petro.choose("1")
    petro.post("/chat/leave")
    Person(app).post("/chat/written", message="Як оформити допомогу?")
    hanna = Person(app)
    hanna.choose("2")
    hanna.post("/chat/callback", number="050 123 45 67", identify="2", window="3",
               message="", reason="chosen")
    Person(app).choose("1")


def test_the_figures_count_each_channel(desk_app: Flask) -> None:
    the_desk(desk_app)
    chat_day(desk_app)

    with desk_app.app_context():
        today = figures.per_channel(db.session(), ("ru", "uk", "en"), NOON - timedelta(hours=1),
                                    NOON + timedelta(seconds=1))
    assert today["web"]["uk"] == figures.ChannelFigures(answered=1, abandoned=1, requests=2)
    assert today["web"]["ru"] == figures.ChannelFigures(0, 0, 0)
    # The callback request left in the chat is the web's, not the phone's.
    assert today["phone"]["uk"].requests == 0
    page = sign_in(desk_app, "sofia").get("/operators/figures").get_data(as_text=True)
    web = row(page, "channel-web-uk")
    assert re.search(r'class="answered">1<', web) and re.search(r'class="abandoned">1<', web)
    assert re.search(r'class="requests">2<', web)
    assert 'id="channel-phone-uk"' in page


def test_the_wallboard_counts_chats_waiting_and_each_channels_day(desk_app: Flask) -> None:
    the_desk(desk_app)
    chat_day(desk_app)
    olena = sign_in(desk_app, "olena")

    board = olena.get("/operators/board/figures.json").get_json()

    assert board["chats_waiting"] == 2  # Taras talking now, Maria's written request
    web_uk = next(line for line in board["channels"]
                  if (line["channel"], line["language"]) == ("web", "uk"))
    assert web_uk == {"channel": "web", "language": "uk", "waiting": 2, "answered_today": 1,
                      "abandoned_today": 1, "requests_today": 2}
    assert {line["channel"] for line in board["channels"]} == {"phone", "web"}
    page = olena.get("/operators/board").get_data(as_text=True)
    assert 'id="chats-waiting">2<' in page and 'id="channel-web-uk"' in page


def test_a_chat_whose_person_went_away_ends_after_chat_idle_minutes_as_abandoned(
        make_app: Callable[..., Flask]) -> None:
    app = make_app(CHAT_IDLE_MINUTES="5")
    hotline_of(app).clock.fixed = NOON
    the_desk(app)
    gone, still_here = Person(app), Person(app)
    gone.choose("1")  # then closes the browser without "leave now"
    still_here.choose("1")
    later(app, 3)
    still_here.client.get("/chat/updates?after=0")  # her page keeps asking
    later(app, 3)

    ran = periodic.end_idle_chats(hotline_of(app))

    assert ran == {"ended": 1}
    first, second = chats_in(app)
    assert (first.status, second.status) == ("ended", "waiting")
    assert first.ended_at == NOON + timedelta(minutes=6) and first.taken_at is None
    with app.app_context():
        day = figures.per_channel(db.session(), ("uk",), NOON - timedelta(hours=1),
                                  NOON + timedelta(hours=1))
    assert day["web"]["uk"].abandoned == 1
    assert "Розмову завершено" in gone.open()  # should she come back, she is told


def test_a_held_chat_or_a_written_request_is_never_ended_for_quiet(desk_app: Flask) -> None:
    the_desk(desk_app)
    Person(desk_app).choose("1")
    Person(desk_app).post("/chat/written", message="Як оформити допомогу?")
    olena = sign_in(desk_app, "olena")
    olena.post(f"/operators/chats/{chats_in(desk_app)[0].id}/take")
    later(desk_app, 60 * 24)

    assert periodic.end_idle_chats(hotline_of(desk_app)) == {"ended": 0}
    assert [chat.status for chat in chats_in(desk_app)] == ["held", "waiting"]


def test_a_page_polling_every_second_writes_seen_at_most_once_a_minute(
        desk_app: Flask) -> None:
    the_desk(desk_app)
    oksana = Person(desk_app)
    oksana.choose("1")
    for _ in range(5):
        later(desk_app, 1 / 60)
        oksana.client.get("/chat/updates?after=0")
    [chat] = chats_in(desk_app)
    assert chat.seen_at == NOON  # the first second's: not written again within the minute
    later(desk_app, 1)
    oksana.client.get("/chat/updates?after=0")
    assert chats_in(desk_app)[0].seen_at == NOON + timedelta(minutes=1, seconds=5)


def test_a_conversation_names_its_channel(desk_app: Flask) -> None:
    the_desk(desk_app)
    Person(desk_app).choose("1")
    [chat] = chats_in(desk_app)
    assert chat.channel == conversations.WEB
    with desk_app.app_context():
        db.session.execute(sa.update(ChatConversation).values(channel="telegram"))
        db.session.commit()
    page = queue_of(sign_in(desk_app, "olena"))
    assert "Telegram" in row(page, f"chat-{chat.id}")


def test_on_postgresql_too_the_queue_the_figures_and_idle_chats_count_each_channel(
        postgres_app: Flask) -> None:
    hotline_of(postgres_app).clock.fixed = NOON
    the_desk(postgres_app)
    chat_day(postgres_app)
    olena = sign_in(postgres_app, "olena")

    page = queue_of(olena)
    board = olena.get("/operators/board/figures.json").get_json()
    figures_page = sign_in(postgres_app, "sofia").get("/operators/figures")
    later(postgres_app, 60)
    ended = periodic.end_idle_chats(hotline_of(postgres_app))

    assert page.count('class="chat-row') == 3  # two waiting, Oksana's held by Olena
    assert board["chats_waiting"] == 2 and board["operators"]["in_chat"] == 1
    assert figures_page.status_code == 200
    assert re.search(r'class="requests">2<', row(figures_page.get_data(as_text=True),
                                                 "channel-web-uk"))
    assert ended == {"ended": 1}  # Taras, quiet for an hour; Maria's written request stays
