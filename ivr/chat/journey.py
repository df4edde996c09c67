"""A person's journey through the menu in the website's chat, on the same menu data and the
same decisions as a call (ivr/menu/journey.py: `walk`, `chosen`): the menu's options become
buttons, its messages are written, its operator and callback nodes do what they do on the
phone. Two things differ because the person writes: they may talk to an operator in writing,
and they may leave a request to be answered here in writing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ivr import phones
from ivr.callback_requests.questions import WINDOW_KEYS
from ivr.callback_requests.store import REASONS, NewRequest, new_reference
from ivr.callback_requests.taking import number_regions
from ivr.callback_requests.writer import NotKept
from ivr.chat import conversations
from ivr.menu.journey import chosen, first_choice, walk
from ivr.menu.menu_file import Menu
from ivr.models import ChatConversation, RequestCall
from ivr.operators.availability import REASON, availability

if TYPE_CHECKING:
    from ivr.services import Hotline

# A callback request left in the chat is stored like one left on a call; its "call" is the
# chat's own id, told apart from Twilio's CallSids (CA…) by its first letters.
CHAT_SID_PREFIX = "WC"


@dataclass(frozen=True)
class Choice:
    key: str
    prompt: str


@dataclass(frozen=True)
class Screen:
    """A node of the menu as the chat shows it: what it writes, then the buttons."""

    node: str
    said: tuple[str, ...]
    choices: tuple[Choice, ...]


@dataclass(frozen=True)
class ShowNode:
    node: str


@dataclass(frozen=True)
class ToOperator:
    pass


@dataclass(frozen=True)
class ToCallback:
    pass


@dataclass(frozen=True)
class ToLanguages:
    pass


Destination = ShowNode | ToOperator | ToCallback | ToLanguages


def screen(menu: Menu, name: str | None) -> Screen:
    """What the chat shows at a node (the first menu after the language, if `name` is not a
    node a person can be shown)."""
    stop = walk(menu, name if name is not None and name in menu.nodes else first_choice(menu))
    if stop.node.kind != "menu":
        stop = walk(menu, first_choice(menu))
    node = stop.node
    choices = tuple(Choice(option.key, option.prompt) for option in node.options
                    if option.prompt)
    return Screen(node.name, stop.said + node.prompts, choices)


def choose(menu: Menu, name: str | None, key: str | None) -> Destination:
    """Where a button of a node leads, as the same key would on the phone."""
    node = menu.node(screen(menu, name).node)
    option = chosen(node, key)
    if option is None:
        return ShowNode(node.name)
    kind = walk(menu, option.goto).node.kind
    if kind == "operator":
        return ToOperator()
    if kind == "callback":
        return ToCallback()
    if kind == "language":
        return ToLanguages()
    return ShowNode(option.goto)


@dataclass(frozen=True)
class Unavailable:
    """Nobody can take a chat now: the prompt that says why, and the request's reason."""

    prompt: str
    reason: str


def talk_now(session: Session, hotline: Hotline, token: str, language: str,
             now: datetime, channel: str = conversations.WEB) -> ChatConversation | Unavailable:
    """Into the queue of the language's chats, as a caller into its phone queue, unless a
    surge, the hours or nobody on duty send the person to a request, as on the phone. A chat
    rings nobody's phone: it waits on the operators' page."""
    already = conversations.of_token(session, hotline.vault, token)
    if already is not None and already.status != "ended":
        return already
    said = availability(session, hotline.menu, language, now)
    if said != "open":
        return Unavailable(f"operator_{said}", REASON[said])
    return conversations.start(session, hotline.vault, token, language, "live", now, channel)


def leave_written_request(session: Session, hotline: Hotline, token: str, language: str,
                          raw: str, now: datetime,
                          channel: str = conversations.WEB) -> ChatConversation:
    """A request answered here in writing: the person's text waits for an operator of their
    language, whatever the hour; the person reads the answer on their page."""
    text = conversations.clean(raw, hotline.settings.chat_message_limit)
    already = conversations.of_token(session, hotline.vault, token)
    if already is not None and already.status != "ended":
        conversations.from_person(session, hotline.vault, already, text, now,
                                  hotline.settings.chat_message_limit,
                                  hotline.settings.chat_messages_per_minute)
        return already
    conversation = conversations.start(session, hotline.vault, token, language, "written", now,
                                       channel)
    conversations.write(session, hotline.vault, conversation, "person", text, now)
    return conversation


@dataclass(frozen=True)
class CallbackAnswers:
    """The callback form, as typed: the number, may we say who we are ("1" yes, "2" no, as
    the keys on the phone), when it is safe to call (the phone's keys, "1" to "4"), a message."""

    number: str
    identify: str
    window: str
    message: str
    reason: str


class NumberInvalid(ValueError):
    pass


class NotSaved(Exception):
    """Neither the database nor the spool took the request."""


def leave_callback_request(session: Session, hotline: Hotline, language: str,
                           answers: CallbackAnswers, now: datetime) -> str:
    """Store a callback request as a call's is stored (the same store, the spool if the
    database is away); its written message is kept sealed beside it. The request's number."""
    number = phones.parse_entered(answers.number[:40], number_regions(hotline, None))
    if number is None:
        raise NumberInvalid
    try:
        message = conversations.clean(answers.message, hotline.settings.chat_message_limit)
    except conversations.Empty:
        message = ""  # the message is optional
    chat_sid = CHAT_SID_PREFIX + uuid.uuid4().hex
    request = NewRequest(
        call_sid=chat_sid, number=number, source="entered", confirmed=True, language=language,
        reason=answers.reason if answers.reason in REASONS else "chosen",
        may_identify=answers.identify == "1", safe_window=WINDOW_KEYS.get(answers.window),
        reference=new_reference(), at=now)
    saved = hotline.callback_requests.save(request)
    if isinstance(saved, NotKept):
        raise NotSaved
    if message:
        kept = conversations.start(session, hotline.vault, conversations.new_token(), language,
                                   "callback", now)
        kept.request_id = session.scalar(sa.select(RequestCall.request_id).where(
            RequestCall.call_sid == chat_sid))
        conversations.write(session, hotline.vault, kept, "person", message, now)
    return saved.reference


def from_chat(first_call_sid: str) -> bool:
    """Whether a callback request was left in the chat rather than on a call."""
    return first_call_sid.startswith(CHAT_SID_PREFIX)
