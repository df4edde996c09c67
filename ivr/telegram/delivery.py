"""What the bot sends: its answers to a person's message, and what operators (and the line)
write in a Telegram conversation. An operator's message is kept in the conversation first
(ivr/chat/desk.py); it counts as delivered only once Telegram took it (`delivered_id`), so a
send that fails is tried again (right after the operator's next action, on the person's next
message and by `ivr periodic`) and the operator's page says it has not reached the person
yet. Never lost silently, never logged: the log names our row id, not the person's."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.chat import conversations
from ivr.models import ChatMessage, TelegramChat
from ivr.telegram import journey, people
from ivr.telegram.bot_api import BotApiError
from ivr.telegram.journey import Reply

if TYPE_CHECKING:
    from ivr.services import Hotline

log = logging.getLogger("ivr.telegram.delivery")
# After a failed send, wait this long before the next try (doubling, up to the last).
RETRY_AFTER = (timedelta(seconds=0), timedelta(seconds=30), timedelta(minutes=2),
               timedelta(minutes=10))
BATCH = 50


def send_replies(hotline: Hotline, chat_id: int, replies: list[Reply]) -> bool:
    """The bot's answers to a message (a menu, a question): sent once; if Telegram is away the
    person sends again and gets them again."""
    for reply in replies:
        try:
            hotline.telegram.send_message(chat_id, reply.text, reply.keyboard)
        except BotApiError as error:
            log.warning("telegram answer not sent: %s", _why(error))
            return False
    return True


def pending(session: Session, person: TelegramChat) -> list[ChatMessage]:
    """What operators and the line wrote in the person's conversation that has not reached
    Telegram yet, oldest first."""
    if person.conversation_id is None:
        return []
    return list(session.scalars(sa.select(ChatMessage).where(
        ChatMessage.conversation_id == person.conversation_id,
        ChatMessage.id > person.delivered_id, ChatMessage.author != "person")
        .order_by(ChatMessage.id).limit(BATCH)))


def deliver(session: Session, hotline: Hotline, person: TelegramChat, now: datetime) -> int:
    """Send the person's pending messages in order, stopping at the first that fails (tried
    again later). How many were sent."""
    sent = 0
    chat_id = people.chat_id_of(hotline.vault, person)
    words = journey.Words(hotline, person.language)
    for message in pending(session, person):
        replies = _replies(session, hotline, person, message, words, now)
        try:
            for reply in replies:
                hotline.telegram.send_message(chat_id, reply.text, reply.keyboard)
        except BotApiError as error:
            person.failures += 1
            wait = RETRY_AFTER[min(person.failures, len(RETRY_AFTER) - 1)]
            person.next_try_at = now + wait
            log.warning("telegram message %s to person %s not delivered (try %s): %s",
                        message.id, person.id, person.failures, _why(error))
            break
        person.delivered_id = message.id
        person.failures, person.next_try_at = 0, None
        sent += 1
    return sent


def _replies(session: Session, hotline: Hotline, person: TelegramChat, message: ChatMessage,
             words: journey.Words, now: datetime) -> list[Reply]:
    text = hotline.vault.unseal(message.body) or conversations.UNREADABLE
    turn = journey.Turn(session, hotline, person, now)
    if message.author != "desk":
        return [Reply(text)]
    if text == conversations.JOINED:
        return [Reply(words("joined"), journey.keyboard_of(turn))]
    # The operator ended the conversation: the person is back at the menu.
    return [Reply(words("ended_by_operator")), *journey.menu(turn, None)]


def deliver_conversation(session: Session, hotline: Hotline, conversation_id: int,
                         now: datetime) -> int:
    """After an operator wrote in, took or ended a conversation: if it is a Telegram one,
    send what is pending now."""
    person = people.of_conversation(session, conversation_id)
    if person is None or not hotline.telegram.configured:
        return 0
    return deliver(session, hotline, person, now)


def deliver_due(session: Session, hotline: Hotline, now: datetime) -> int:
    """Every Telegram conversation with something pending whose next try is due."""
    if not hotline.telegram.configured:
        return 0
    due = session.scalars(sa.select(TelegramChat).where(
        TelegramChat.conversation_id.is_not(None),
        sa.or_(TelegramChat.next_try_at.is_(None), TelegramChat.next_try_at <= now),
        sa.exists().where(ChatMessage.conversation_id == TelegramChat.conversation_id,
                          ChatMessage.id > TelegramChat.delivered_id,
                          ChatMessage.author != "person")).limit(BATCH))
    return sum(deliver(session, hotline, person, now) for person in list(due))


def undelivered(session: Session, conversation_id: int) -> int:
    """How many of an operator's messages in a Telegram conversation have not reached the
    person yet (0 for the website's chat: its page reads them itself)."""
    person = people.of_conversation(session, conversation_id)
    if person is None:
        return 0
    return session.scalar(sa.select(sa.func.count()).select_from(ChatMessage).where(
        ChatMessage.conversation_id == conversation_id, ChatMessage.author == "operator",
        ChatMessage.id > person.delivered_id)) or 0


def _why(error: BotApiError) -> str:
    return f"HTTP {error.status}" if error.status is not None else "Telegram not reached"
