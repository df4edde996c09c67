"""The one module that talks to Telegram's Bot API (plain HTTPS calls). Tests fake it with
`responses`. Nothing here logs; its errors never hold a message's text, a chat id or the
bot's token (the callers log them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from requests import RequestException

API = "https://api.telegram.org"
# (connect, read): the webhook may be waiting on us, and Telegram retries a slow webhook.
TIMEOUT = (3.05, 5.0)
# The longest text one sendMessage carries; a longer one goes in parts.
LONGEST_MESSAGE = 4096


class BotApiError(Exception):
    """Telegram refused or could not be reached. `status` is its HTTP status when it answered
    (401/404: the token is wrong; 403: the person blocked the bot; 429: slow down). The message
    says what, never the token or a text."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Keyboard:
    """A reply keyboard: rows of buttons whose labels the person sends back as text."""

    rows: tuple[tuple[str, ...], ...]

    def markup(self) -> dict[str, Any]:
        return {"keyboard": [[{"text": label} for label in row] for row in self.rows],
                "resize_keyboard": True, "is_persistent": True}


class BotApi:
    def __init__(self, token: str | None) -> None:
        self._token = token

    @property
    def configured(self) -> bool:
        return bool(self._token)

    def send_message(self, chat_id: int, text: str, keyboard: Keyboard | None = None) -> None:
        """Send plain text (no parse_mode: nothing in it is read as markup), in parts if it is
        longer than Telegram takes at once; the keyboard comes with the last part."""
        parts = [text[start:start + LONGEST_MESSAGE]
                 for start in range(0, len(text), LONGEST_MESSAGE)] or [""]
        for index, part in enumerate(parts):
            payload: dict[str, Any] = {"chat_id": chat_id, "text": part}
            if keyboard is not None and index == len(parts) - 1:
                payload["reply_markup"] = keyboard.markup()
            self._call("sendMessage", payload)

    def set_webhook(self, url: str, secret: str) -> None:
        self._call("setWebhook", {"url": url, "secret_token": secret,
                                  "allowed_updates": ["message"]})

    def _call(self, method: str, payload: dict[str, Any]) -> Any:
        if not self._token:
            raise BotApiError("TELEGRAM_BOT_TOKEN is not set")
        try:
            response = requests.post(f"{API}/bot{self._token}/{method}", json=payload,
                                     timeout=TIMEOUT)
        except RequestException as error:
            raise BotApiError(f"Telegram could not be reached ({type(error).__name__})") \
                from None
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code != 200 or not isinstance(answer, dict) or not answer.get("ok"):
            said = answer.get("description") if isinstance(answer, dict) else None
            raise BotApiError(f"Telegram refused {method}: HTTP {response.status_code}"
                              + (f" ({str(said)[:120]})" if said else ""),
                              response.status_code)
        return answer.get("result")
