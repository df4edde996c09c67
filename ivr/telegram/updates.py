"""What a Telegram update says, read defensively: anything malformed or of a kind we do not
take is None, and the webhook answers 200 all the same (Telegram retries anything else)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Where Telegram sends the bot's updates (`ivr telegram set-webhook` registers it).
PATH = "/telegram/webhook"
# Telegram's ids fit in 52 bits; anything larger (or not a whole number) is not one.
LARGEST_ID = 2**53


@dataclass(frozen=True)
class Incoming:
    """A message a person sent the bot: in a private chat, text or not (a sticker, a photo,
    a voice message: `text` None)."""

    chat_id: int
    language_code: str | None
    text: str | None


def read(update: Any) -> Incoming | None:
    if not isinstance(update, dict):
        return None
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    chat = message.get("chat")
    if not isinstance(chat, dict) or chat.get("type") != "private":
        return None
    chat_id = chat.get("id")
    if not isinstance(chat_id, int) or isinstance(chat_id, bool) \
            or not 0 < chat_id < LARGEST_ID:
        return None
    sender = message.get("from")
    language = sender.get("language_code") if isinstance(sender, dict) else None
    text = message.get("text")
    return Incoming(chat_id, language if isinstance(language, str) else None,
                    text if isinstance(text, str) else None)


def kind(update: Any) -> str:
    """A word for the log about an update we did not take (never its content)."""
    if not isinstance(update, dict):
        return "not an object"
    known = [key for key in update if key != "update_id"]
    return ",".join(str(key)[:32] for key in known[:3]) or "empty"
