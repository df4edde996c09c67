"""Conversations of the website's chat and their messages.

A person's browser holds a random token in a session cookie; the database keeps only its
keyed digest (PHONE_HASH_KEY), so a copy of the database names nobody's browser. Every message
is sealed under PHONE_ENCRYPTION_KEYS before it is stored and opened only to be shown: to the
person whose cookie it is, or to the operator who holds the chat. Nothing here logs a text.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.models import ChatConversation, ChatMessage
from ivr.phones import PhoneVault

MODES = ("live", "written", "callback")
# Control characters (but for the line break and the tab) and the invisible marks that turn
# text around or hide it: dropped from every message.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
TOKEN_BYTES = 32
LONGEST_TOKEN = 100
UNREADABLE = "…"
# What the line itself writes in a conversation (author `desk`), shown in the reader's words.
JOINED = "joined"
ENDED = "ended_by_operator"
# Channels a person writes from (ChatConversation.channel).
WEB = "web"
TELEGRAM = "telegram"
# A page's news asked more often than this does not write `seen_at` again: one write a
# minute at most per chat, however often its page polls.
SEEN_EVERY = timedelta(seconds=60)


class Empty(ValueError):
    """Nothing left to send once the message is cleaned."""


class TooLong(ValueError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"longer than {limit} characters")
        self.limit = limit


class TooFast(Exception):
    """More messages from one chat in a minute than CHAT_MESSAGES_PER_MINUTE."""


class Over(Exception):
    """The conversation has ended: nothing more can be written in it."""


@dataclass(frozen=True)
class Line:
    """A message as a page shows it."""

    id: int
    author: str
    text: str
    at: datetime


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def clean(text: str, limit: int) -> str:
    """The message as it is kept: line breaks made plain, control characters dropped."""
    text = CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        raise Empty
    if len(text) > limit:
        raise TooLong(limit)
    return text


def of_token(session: Session, vault: PhoneVault, token: str | None) -> ChatConversation | None:
    """The conversation a browser's cookie names, if any."""
    if not token or len(token) > LONGEST_TOKEN:
        return None
    return session.scalar(sa.select(ChatConversation).where(
        ChatConversation.token_hash == vault.digest(token)))


def start(session: Session, vault: PhoneVault, token: str, language: str, mode: str,
          now: datetime, channel: str = WEB) -> ChatConversation:
    """A conversation waiting for an operator (`live` or `written`), or kept beside a callback
    request (`callback`, ended at once: nobody answers it here). A chat this browser had
    before, ended, is no longer its own: it cannot be read from this cookie again."""
    before = of_token(session, vault, token)
    if before is not None:
        before.token_hash = vault.digest(new_token())
        session.flush()
    conversation = ChatConversation(
        token_hash=vault.digest(token), language=language, mode=mode,
        status="ended" if mode == "callback" else "waiting", created_at=now,
        waiting_since=None if mode == "callback" else now, updated_at=now, seen_at=now,
        ended_at=now if mode == "callback" else None, channel=channel)
    session.add(conversation)
    session.flush()
    return conversation


def write(session: Session, vault: PhoneVault, conversation: ChatConversation, author: str,
          text: str, now: datetime, operator_id: int | None = None) -> ChatMessage:
    message = ChatMessage(conversation_id=conversation.id, author=author,
                          operator_id=operator_id, body=vault.seal(text), at=now)
    session.add(message)
    conversation.updated_at = now
    session.flush()
    return message


def from_person(session: Session, vault: PhoneVault, conversation: ChatConversation,
                raw: str, now: datetime, limit: int, per_minute: int) -> ChatMessage:
    """A message the person sends: cleaned, within the limits, in a conversation still on."""
    if conversation.status == "ended":
        raise Over
    text = clean(raw, limit)
    recent = session.scalar(sa.select(sa.func.count()).select_from(ChatMessage).where(
        ChatMessage.conversation_id == conversation.id, ChatMessage.author == "person",
        ChatMessage.at > now - timedelta(minutes=1))) or 0
    if recent >= per_minute:
        raise TooFast
    conversation.seen_at = now
    return write(session, vault, conversation, "person", text, now)


def lines(session: Session, vault: PhoneVault, conversation_id: int,
          after: int = 0) -> list[Line]:
    """The conversation's messages, opened, oldest first (only those after message `after`)."""
    rows = session.scalars(sa.select(ChatMessage).where(
        ChatMessage.conversation_id == conversation_id, ChatMessage.id > after)
        .order_by(ChatMessage.id))
    return [Line(row.id, row.author, vault.unseal(row.body) or UNREADABLE, row.at)
            for row in rows]


def place(session: Session, conversation: ChatConversation) -> int | None:
    """The person's place among the chats of their language waiting for an operator now."""
    if conversation.status != "waiting" or conversation.mode != "live" \
            or conversation.waiting_since is None:
        return None
    ahead = session.scalar(sa.select(sa.func.count()).select_from(ChatConversation).where(
        ChatConversation.status == "waiting", ChatConversation.mode == "live",
        ChatConversation.language == conversation.language,
        sa.or_(ChatConversation.waiting_since < conversation.waiting_since,
               sa.and_(ChatConversation.waiting_since == conversation.waiting_since,
                       ChatConversation.id < conversation.id))))
    return (ahead or 0) + 1


def leave(conversation: ChatConversation, now: datetime) -> None:
    """The person left: the conversation ends (its messages follow the retention rules)."""
    if conversation.status != "ended":
        conversation.status = "ended"
        conversation.ended_at = now
    conversation.updated_at = now


def seen(conversation: ChatConversation, now: datetime) -> bool:
    """The person's page asked for news: they are still there (written at most once a
    SEEN_EVERY). True when it was written, for the caller to commit."""
    if conversation.status == "ended" or (
            conversation.seen_at is not None and now - conversation.seen_at < SEEN_EVERY):
        return False
    conversation.seen_at = now
    return True


def end_idle(session: Session, now: datetime, minutes: int) -> int:
    """End the live chats still waiting for an operator whose person has not been seen for
    `minutes` (CHAT_IDLE_MINUTES): the browser closed without "leave now". Nobody took them,
    so they count as abandoned. How many ended. Only the website's: a person in Telegram has
    no page to close, and reads our answer whenever it comes."""
    before = now - timedelta(minutes=minutes)
    last_seen = sa.func.coalesce(ChatConversation.seen_at, ChatConversation.updated_at)
    result = session.execute(
        sa.update(ChatConversation)
        .where(ChatConversation.status == "waiting", ChatConversation.mode == "live",
               ChatConversation.channel == WEB, last_seen < before)
        .values(status="ended", ended_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
