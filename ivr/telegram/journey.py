"""A person's journey in the Telegram bot: the website chat's journey (ivr/chat/journey.py,
the same menu data and decisions) with reply keyboards in the person's language. `handle`
takes one message and returns what the bot answers; it never sends anything itself (the
webhook sends the answers once the database has kept what they say)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from ivr import phones
from ivr.callback_requests.questions import WINDOW_KEYS
from ivr.callback_requests.taking import number_regions
from ivr.chat import conversations
from ivr.chat import journey as chat_journey
from ivr.chat.conversations import Empty, TooFast, TooLong
from ivr.chat.texts import ChatTexts
from ivr.models import ChatConversation, TelegramChat
from ivr.telegram import people
from ivr.telegram.bot_api import Keyboard
from ivr.telegram.updates import Incoming

if TYPE_CHECKING:
    from ivr.services import Hotline

START = "/start"
STOP = "/stop"
# A person who keeps writing too fast is told to wait at most once in this long.
WARN_EVERY = timedelta(minutes=1)
WINDOWS = tuple(WINDOW_KEYS.items())  # ("1", "any"), ...


@dataclass(frozen=True)
class Reply:
    text: str
    keyboard: Keyboard | None = None


class Words:
    """The chat's words (prompts/<lang>/chat.yaml) in one person's language."""

    def __init__(self, hotline: Hotline, language: str) -> None:
        self.texts = ChatTexts(hotline.settings.prompts_dir, hotline.catalog)
        self.language = language

    def __call__(self, name: str, **values: object) -> str:
        return self.texts.get(self.language, name, **values)


@dataclass
class Turn:
    session: Session
    hotline: Hotline
    person: TelegramChat
    now: datetime

    @property
    def words(self) -> Words:
        return Words(self.hotline, self.person.language)

    def draft(self) -> dict[str, str]:
        opened = self.hotline.vault.unseal(self.person.draft) if self.person.draft else None
        try:
            loaded = json.loads(opened) if opened else {}
        except ValueError:
            loaded = {}
        return {str(key): str(value) for key, value in loaded.items()} \
            if isinstance(loaded, dict) else {}

    def keep(self, **values: str) -> None:
        self.person.draft = self.hotline.vault.seal(json.dumps({**self.draft(), **values}))


def handle(session: Session, hotline: Hotline, incoming: Incoming, now: datetime) -> list[Reply]:
    person = people.find_or_add(session, hotline.vault, hotline.menu, incoming.chat_id,
                                incoming.language_code, now)
    turn = Turn(session, hotline, person, now)
    conversation = people.open_conversation(session, person)
    # In a conversation, the person's messages are counted as they are stored (TooFast);
    # everything else the bot answers is counted here. Telegram limits what a bot may send,
    # and one person's flood must not slow the answers to everyone else who needs the line.
    if (incoming.text is None or conversation is None) and not within_the_minute(turn):
        # Not even "wait" ahead of an operator's last words still owed (see below).
        owed = conversation is None and people.owed(session, person)
        return [] if owed else too_fast(turn)
    if incoming.text is None:
        return [Reply(turn.words("telegram_only_text"), keyboard_of(turn))]
    text = incoming.text.strip()
    if conversation is not None:
        return in_conversation(turn, conversation, incoming.text, text)
    if people.owed(session, person):
        # An operator's last words (or the end of the chat) have not reached the person yet:
        # they go first (the webhook sends what is owed after answering), and nothing new
        # starts before, or it would take the person's conversation and they would be lost.
        return []
    if text == START or person.step == "new":
        return languages(turn)
    if text == turn.words("back_to_menu") or text == STOP:
        return menu(turn, None)
    step = STEPS.get(person.step)
    return step(turn, text) if step is not None else menu(turn, None)


def keyboard_of(turn: Turn) -> Keyboard | None:
    """The buttons of the step the person is at (shown again with a reply that says only
    what went wrong)."""
    words, step = turn.words, turn.person.step
    back = (words("back_to_menu"),)
    if people.open_conversation(turn.session, turn.person) is not None:
        return Keyboard(((words("telegram_end"),),))
    if step == "menu":
        return menu_keyboard(turn, chat_journey.screen(turn.hotline.menu, turn.person.node))
    if step == "identify":
        return Keyboard(((words("callback_identify_yes"), words("callback_identify_no")), back))
    if step == "window":
        return Keyboard((*((words(f"callback_window_{name}"),) for _k, name in WINDOWS), back))
    if step == "message":
        return Keyboard(((words("telegram_skip"),), back))
    if step == "unavailable":
        return Keyboard(((words("option_callback"),), (words("option_written"),), back))
    if step in ("number", "written"):
        return Keyboard((back,))
    return language_keyboard(turn)


def language_keyboard(turn: Turn) -> Keyboard:
    return Keyboard(tuple((Words(turn.hotline, code)("language_name"),)
                          for code in turn.hotline.menu.languages))


def languages(turn: Turn) -> list[Reply]:
    turn.person.step = "languages"
    return [Reply(turn.words("choose_language"), language_keyboard(turn))]


def chose_language(turn: Turn, text: str) -> list[Reply]:
    for code in turn.hotline.menu.languages:
        if text in (code, Words(turn.hotline, code)("language_name")):
            turn.person.language = code
            return menu(turn, None)
    return languages(turn)


def menu_keyboard(turn: Turn, screen: chat_journey.Screen) -> Keyboard:
    words = turn.words
    return Keyboard((*((words(choice.prompt),) for choice in screen.choices),
                     (words("option_written"),)))


def menu(turn: Turn, node: str | None) -> list[Reply]:
    screen = chat_journey.screen(turn.hotline.menu, node)
    turn.person.step, turn.person.node, turn.person.draft = "menu", screen.node, None
    words = turn.words
    said = "\n\n".join(words(prompt) for prompt in screen.said) or words("title")
    return [Reply(said, menu_keyboard(turn, screen))]


def chose_option(turn: Turn, text: str) -> list[Reply]:
    words = turn.words
    screen = chat_journey.screen(turn.hotline.menu, turn.person.node)
    if text == words("option_written"):
        return written(turn)
    key = next((choice.key for choice in screen.choices
                if text in (choice.key, words(choice.prompt))), None)
    match chat_journey.choose(turn.hotline.menu, screen.node, key):
        case chat_journey.ToOperator():
            return talk_now(turn)
        case chat_journey.ToCallback():
            return callback_number(turn, "chosen")
        case chat_journey.ToLanguages():
            return languages(turn)
        case chat_journey.ShowNode(node=node):
            return menu(turn, node)
    return menu(turn, screen.node)


def talk_now(turn: Turn) -> list[Reply]:
    outcome = chat_journey.talk_now(turn.session, turn.hotline, people.token(chat_id(turn)),
                                    turn.person.language, turn.now, conversations.TELEGRAM)
    words = turn.words
    if isinstance(outcome, chat_journey.Unavailable):
        turn.person.step = "unavailable"
        turn.keep(reason=outcome.reason)
        return [Reply(f"{words(outcome.prompt)}\n\n{words('unavailable_choices')}",
                      keyboard_of(turn))]
    joined(turn, outcome)
    place = conversations.place(turn.session, outcome)
    said = words("waiting") + (f" {words('place', place=place)}" if place else "")
    return [Reply(said, keyboard_of(turn))]


def chat_id(turn: Turn) -> int:
    return people.chat_id_of(turn.hotline.vault, turn.person)


def joined(turn: Turn, conversation: ChatConversation) -> None:
    turn.person.conversation_id = conversation.id
    turn.person.step, turn.person.draft = "talking", None


def chose_after_unavailable(turn: Turn, text: str) -> list[Reply]:
    words = turn.words
    if text == words("option_callback"):
        return callback_number(turn, turn.draft().get("reason", "chosen"))
    if text == words("option_written"):
        return written(turn)
    return [Reply(words("unavailable_choices"), keyboard_of(turn))]


def written(turn: Turn) -> list[Reply]:
    turn.person.step = "written"
    return [Reply(turn.words("telegram_written_intro"), keyboard_of(turn))]


def wrote_request(turn: Turn, text: str) -> list[Reply]:
    try:
        conversation = chat_journey.leave_written_request(
            turn.session, turn.hotline, people.token(chat_id(turn)), turn.person.language,
            text, turn.now, conversations.TELEGRAM)
    except (TooLong, Empty) as problem:
        return [Reply(said_about(turn, problem), keyboard_of(turn))]
    joined(turn, conversation)
    return [Reply(turn.words("telegram_written_saved"), keyboard_of(turn))]


def said_about(turn: Turn, problem: Exception) -> str:
    if isinstance(problem, TooLong):
        return turn.words("too_long", limit=problem.limit)
    return turn.words("empty")


def callback_number(turn: Turn, reason: str) -> list[Reply]:
    turn.person.step, turn.person.draft = "number", None
    turn.keep(reason=reason)
    words = turn.words
    return [Reply(f"{words('callback_intro')}\n{words('callback_number')}:", keyboard_of(turn))]


def typed_number(turn: Turn, text: str) -> list[Reply]:
    if phones.parse_entered(text[:40], number_regions(turn.hotline, None)) is None:
        return [Reply(turn.words("callback_number_invalid"), keyboard_of(turn))]
    turn.keep(number=text[:40])
    turn.person.step = "identify"
    return [Reply(turn.words("callback_identify"), keyboard_of(turn))]


def chose_identify(turn: Turn, text: str) -> list[Reply]:
    words = turn.words
    answers = {words("callback_identify_yes"): "1", words("callback_identify_no"): "2"}
    if text not in answers:
        return [Reply(words("callback_identify"), keyboard_of(turn))]
    turn.keep(identify=answers[text])
    turn.person.step = "window"
    return [Reply(words("callback_window"), keyboard_of(turn))]


def chose_window(turn: Turn, text: str) -> list[Reply]:
    words = turn.words
    key = next((key for key, name in WINDOWS if text == words(f"callback_window_{name}")), None)
    if key is None:
        return [Reply(words("callback_window"), keyboard_of(turn))]
    turn.keep(window=key)
    turn.person.step = "message"
    return [Reply(words("callback_message"), keyboard_of(turn))]


def wrote_message(turn: Turn, text: str) -> list[Reply]:
    words = turn.words
    draft = turn.draft()
    answers = chat_journey.CallbackAnswers(
        number=draft.get("number", ""), identify=draft.get("identify", "2"),
        window=draft.get("window", ""),
        message="" if text == words("telegram_skip") else text,
        reason=draft.get("reason", "chosen"))
    try:
        reference = chat_journey.leave_callback_request(
            turn.session, turn.hotline, turn.person.language, answers, turn.now)
    except chat_journey.NumberInvalid:
        return callback_number(turn, answers.reason)
    except (TooLong, Empty) as problem:
        return [Reply(said_about(turn, problem), keyboard_of(turn))]
    except chat_journey.NotSaved:
        return [Reply(words("not_saved"), keyboard_of(turn))]
    return [Reply(words("callback_saved", reference=reference)), *menu(turn, None)]


def in_conversation(turn: Turn, conversation: ChatConversation, raw: str,
                    text: str) -> list[Reply]:
    words = turn.words
    if text in (words("telegram_end"), STOP):
        conversations.leave(conversation, turn.now)
        return [Reply(words("ended")), *menu(turn, None)]
    if text == START:
        return [Reply(status_of(turn, conversation), keyboard_of(turn))]
    settings = turn.hotline.settings
    try:
        conversations.from_person(turn.session, turn.hotline.vault, conversation, raw,
                                  turn.now, settings.chat_message_limit,
                                  settings.chat_messages_per_minute)
    except (TooLong, Empty) as problem:
        return [Reply(said_about(turn, problem), keyboard_of(turn))]
    except TooFast:
        return too_fast(turn)
    return []


def within_the_minute(turn: Turn) -> bool:
    """Whether this message is one of the first CHAT_MESSAGES_PER_MINUTE of the person's
    minute (a minute from the first message after the last one ended)."""
    person = turn.person
    started = person.minute_started_at
    if started is None or turn.now - started >= timedelta(minutes=1):
        person.minute_started_at = turn.now
        person.messages_this_minute = 0
    person.messages_this_minute = (person.messages_this_minute or 0) + 1
    return person.messages_this_minute <= turn.hotline.settings.chat_messages_per_minute


def too_fast(turn: Turn) -> list[Reply]:
    """Told once a minute at most: a flood gets one answer, not one per message."""
    warned = turn.person.warned_at
    if warned is not None and turn.now - warned < WARN_EVERY:
        return []
    turn.person.warned_at = turn.now
    return [Reply(turn.words("telegram_too_fast"), keyboard_of(turn))]


def status_of(turn: Turn, conversation: ChatConversation) -> str:
    words = turn.words
    if conversation.status == "held":
        return words("held")
    if conversation.mode == "written":
        return words("telegram_written_saved")
    place = conversations.place(turn.session, conversation)
    return words("waiting") + (f" {words('place', place=place)}" if place else "")


STEPS = {
    "languages": chose_language,
    "menu": chose_option,
    "unavailable": chose_after_unavailable,
    "written": wrote_request,
    "number": typed_number,
    "identify": chose_identify,
    "window": chose_window,
    "message": wrote_message,
}
