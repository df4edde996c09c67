"""The people who write to the Telegram bot. A Telegram chat id is personal data like a phone
number: it is kept only encrypted, beside a keyed digest (PHONE_HASH_KEY) that finds the person
again, and it is never logged (the log names our own row id). The digest is also the token of
their conversation (ivr/chat/conversations.py), so a person who writes again reaches the same
open conversation."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.menu.menu_file import Menu
from ivr.models import ChatConversation, ChatMessage, TelegramChat
from ivr.phones import PhoneVault

PREFIX = "telegram:"


def token(chat_id: int) -> str:
    """The conversation token of a Telegram chat (kept as a digest only, like a browser's)."""
    return f"{PREFIX}{chat_id}"


def language_of(menu: Menu, language_code: str | None) -> str:
    """Telegram's language of the person's app when it is one of ours, else the default."""
    code = (language_code or "").split("-")[0].lower()
    return code if code in menu.languages else menu.default_language


def find(session: Session, vault: PhoneVault, chat_id: int) -> TelegramChat | None:
    return session.scalar(sa.select(TelegramChat).where(
        TelegramChat.chat_hash == vault.digest(token(chat_id))))


def find_or_add(session: Session, vault: PhoneVault, menu: Menu, chat_id: int,
                language_code: str | None, now: datetime) -> TelegramChat:
    person = find(session, vault, chat_id)
    if person is None:
        person = TelegramChat(chat_hash=vault.digest(token(chat_id)),
                              chat_id=vault.encrypt(str(chat_id)),
                              language=language_of(menu, language_code), step="new",
                              delivered_id=0, failures=0, created_at=now, updated_at=now)
        session.add(person)
        session.flush()
    person.updated_at = now
    return person


def chat_id_of(vault: PhoneVault, person: TelegramChat) -> int:
    return int(vault.decrypt(person.chat_id))


def open_conversation(session: Session, person: TelegramChat) -> ChatConversation | None:
    """The person's conversation still going on (waiting for an operator, or held)."""
    if person.conversation_id is None:
        return None
    conversation = session.get(ChatConversation, person.conversation_id)
    if conversation is None or conversation.status == "ended":
        return None
    return conversation


def owed(session: Session, person: TelegramChat) -> bool:
    """Whether something written to the person in their last conversation (an operator's
    words, its end) has not reached Telegram yet."""
    if person.conversation_id is None:
        return False
    return bool(session.scalar(sa.select(sa.exists().where(
        ChatMessage.conversation_id == person.conversation_id,
        ChatMessage.id > person.delivered_id, ChatMessage.author != "person"))))


def of_conversation(session: Session, conversation_id: int) -> TelegramChat | None:
    return session.scalar(sa.select(TelegramChat).where(
        TelegramChat.conversation_id == conversation_id))
