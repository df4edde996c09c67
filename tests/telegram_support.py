"""Helpers for the Telegram bot's stories: Telegram's Bot API faked on a `responses` mock
(what the app sent is kept), and a person writing to the bot (each message an update posted
to the webhook with Telegram's secret)."""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import responses
from flask import Flask
from flask.testing import FlaskClient

TOKEN = "123456:test-bot-token"
SECRET = "telegram-webhook-secret-for-tests"
BOT_SETTINGS = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_WEBHOOK_SECRET": SECRET}
API = re.compile(r"https://api\.telegram\.org/bot(?P<token>[^/]+)/(?P<method>\w+)")
UPDATE_IDS = itertools.count(1000)


class FakeTelegram:
    """Telegram's Bot API: every call is kept; `refuse()` makes sendMessage fail for a while."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.refusing = False
        self.token_refused = False
        mock.add_callback(responses.POST, API, callback=self._answer)

    def _answer(self, request: Any) -> tuple[int, dict[str, str], str]:
        found = API.match(request.url)
        assert found is not None
        if found["token"] != TOKEN or self.token_refused:
            return 401, {}, json.dumps({"ok": False, "error_code": 401,
                                        "description": "Unauthorized"})
        payload = json.loads(request.body)
        if self.refusing:
            return 502, {}, "Bad Gateway"
        self.calls.append((found["method"], payload))
        return 200, {}, json.dumps({"ok": True, "result": True})

    def sent_to(self, chat_id: int) -> list[dict[str, Any]]:
        return [payload for method, payload in self.calls
                if method == "sendMessage" and payload["chat_id"] == chat_id]

    def texts_to(self, chat_id: int) -> list[str]:
        return [payload["text"] for payload in self.sent_to(chat_id)]

    def last_buttons(self, chat_id: int) -> list[str]:
        keyboards = [payload["reply_markup"]["keyboard"] for payload in self.sent_to(chat_id)
                     if "reply_markup" in payload]
        return [button["text"] for row in keyboards[-1] for button in row] if keyboards else []


class TelegramPerson:
    """Someone writing to the bot from Telegram; their app's language is `language_code`."""

    def __init__(self, app: Flask, chat_id: int, language_code: str | None = "uk") -> None:
        self.client: FlaskClient = app.test_client()
        self.chat_id = chat_id
        self.language_code = language_code
        self.status = 0

    def update(self, message: dict[str, Any]) -> dict[str, Any]:
        sender: dict[str, Any] = {"id": self.chat_id, "is_bot": False, "first_name": "Oksana",
                                  "username": "oksana_from_kyiv"}
        if self.language_code:
            sender["language_code"] = self.language_code
        return {"update_id": next(UPDATE_IDS), "message": {
            "message_id": next(UPDATE_IDS), "date": 1764547200, "from": sender,
            "chat": {"id": self.chat_id, "type": "private", "first_name": "Oksana"},
            **message}}

    def post(self, body: Any, secret: str | None = SECRET) -> int:
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        data = body if isinstance(body, (str, bytes)) else json.dumps(body)
        response = self.client.post("/telegram/webhook", data=data, headers=headers,
                                    content_type="application/json")
        self.status = response.status_code
        return self.status

    def write(self, text: str) -> int:
        return self.post(self.update({"text": text}))
