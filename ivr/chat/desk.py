"""The website's chats on the operators' desk: the chats of an operator's languages waiting
for one, taking a chat (one conditional UPDATE, like a claim: of two operators who click at
once exactly one holds it), writing in it and ending it. A chat's messages are opened only
for the operator who holds it; taking and ending are in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr.chat import conversations
from ivr.chat.conversations import Line
from ivr.models import ChatConversation, ChatMessage, Operator
from ivr.operators import audit, presence
from ivr.operators.identity import Staff
from ivr.phones import PhoneVault

# The most chats the list shows of each kind (waiting, held).
LIST_LIMIT = 200


class NotFound(Exception):
    """No such chat, or not one of this person's languages (they are told the same)."""


class NotAvailable(Exception):
    """Only an operator on duty and available takes a chat: on a break, paused or signed
    off, they set themselves available first."""


class NotYours(Exception):
    """The chat is not held by this person: waiting, someone else's, or ended."""


@dataclass(frozen=True)
class Waiting:
    id: int
    language: str
    mode: str
    since: datetime
    holder: str | None  # who holds it, if someone does
    mine: bool
    channel: str = conversations.WEB


def chats_for(session: Session, staff: Staff, languages: tuple[str, ...]) -> list[Waiting]:
    """The chats of the person's languages that wait or are held, the longest waiting first
    (no message in it: a chat's words are only on its own page, for its holder)."""
    visible = staff.visible_languages(languages)
    rows = session.execute(
        sa.select(ChatConversation, Operator.name)
        .outerjoin(Operator, Operator.id == ChatConversation.operator_id)
        .where(ChatConversation.status.in_(("waiting", "held")),
               ChatConversation.language.in_(visible))
        .order_by(ChatConversation.waiting_since, ChatConversation.id)
        .limit(LIST_LIMIT * 2)).all()
    return [Waiting(chat.id, chat.language, chat.mode, chat.waiting_since or chat.created_at,
                    name if chat.status == "held" else None, chat.operator_id == staff.id,
                    chat.channel)
            for chat, name in rows]


def visible(session: Session, staff: Staff, chat_id: int) -> ChatConversation:
    chat = session.get(ChatConversation, chat_id)
    if chat is None or chat.mode == "callback" or not staff.may_see(chat.language):
        raise NotFound
    return chat


def take(session: Session, vault: PhoneVault, staff: Staff, chat_id: int,
         now: datetime) -> Literal["yours", "taken", "ended"]:
    """Take a waiting chat: one conditional UPDATE, so two operators cannot both hold it.
    Only an available operator takes one (NotAvailable otherwise)."""
    chat = visible(session, staff, chat_id)
    operator = session.get(Operator, staff.id)
    if chat.status == "waiting" and (operator is None or not presence.may_take_a_chat(operator)):
        raise NotAvailable
    result = session.execute(
        sa.update(ChatConversation)
        .where(ChatConversation.id == chat.id, ChatConversation.status == "waiting")
        .values(status="held", operator_id=staff.id, taken_at=now, updated_at=now)
        .execution_options(synchronize_session=False))
    won = cast("sa.CursorResult[Any]", result).rowcount == 1
    session.expire(chat)
    if not won:
        if chat.status == "held" and chat.operator_id == staff.id:
            return "yours"
        return "taken" if chat.status == "held" else "ended"
    conversations.write(session, vault, chat, "desk", conversations.JOINED, now, staff.id)
    audit.record(session, now, "chat", login=staff.login, operator_id=staff.id,
                 detail=f"took chat {chat.id} ({chat.language}, {chat.mode})")
    return "yours"


def mine(session: Session, staff: Staff, chat_id: int) -> ChatConversation:
    chat = visible(session, staff, chat_id)
    if chat.status != "held" or chat.operator_id != staff.id:
        raise NotYours
    return chat


def read(session: Session, vault: PhoneVault, staff: Staff, chat_id: int,
         after: int = 0) -> tuple[ChatConversation, list[Line]]:
    """The chat and its messages, for the operator who holds it only."""
    chat = mine(session, staff, chat_id)
    return chat, conversations.lines(session, vault, chat.id, after)


def reply(session: Session, vault: PhoneVault, staff: Staff, chat_id: int, raw: str,
          now: datetime, limit: int) -> None:
    chat = mine(session, staff, chat_id)
    text = conversations.clean(raw, limit)
    conversations.write(session, vault, chat, "operator", text, now, operator_id=staff.id)


def end(session: Session, vault: PhoneVault, staff: Staff, chat_id: int,
        now: datetime, wrap_up_seconds: int = 0) -> None:
    """The operator ends the chat they hold: then wrap-up (WRAP_UP_SECONDS), as after a call."""
    chat = mine(session, staff, chat_id)
    chat.status = "ended"
    chat.ended_at = now
    chat.updated_at = now
    conversations.write(session, vault, chat, "desk", conversations.ENDED, now, staff.id)
    audit.record(session, now, "chat", login=staff.login, operator_id=staff.id,
                 detail=f"ended chat {chat.id}")
    presence.start_wrap_up(session, staff.id, now, wrap_up_seconds)


def message_left_with(session: Session, vault: PhoneVault, request_id: int) -> str | None:
    """The message a person wrote with a callback request they left in the chat, opened for
    the request's page (which shows it to the operator who holds the request only)."""
    body = session.scalar(
        sa.select(ChatMessage.body).join(
            ChatConversation, ChatConversation.id == ChatMessage.conversation_id)
        .where(ChatConversation.request_id == request_id, ChatConversation.mode == "callback",
               ChatMessage.author == "person")
        .order_by(ChatMessage.id.desc()).limit(1))
    if body is None:
        return None
    return vault.unseal(body) or conversations.UNREADABLE
