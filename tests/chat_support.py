"""Helpers for the website's chat stories: a person's browser (a test client holding the
chat's cookie) and operators on duty."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from ivr.database import db
from ivr.models import ChatConversation, ChatMessage, Operator

FORM_TOKEN = re.compile(r'name="form_token" value="([0-9a-f]+)"')


class Person:
    """Someone writing from the website, in a browser that keeps the chat's cookie."""

    def __init__(self, app: Flask, languages: str = "uk-UA,uk;q=0.9,en;q=0.5") -> None:
        self.client: FlaskClient = app.test_client()
        self.headers = {"Accept-Language": languages}
        self.page = ""
        self.status = 0

    def open(self, path: str = "/chat/") -> str:
        response = self.client.get(path, headers=self.headers, follow_redirects=True)
        self.status = response.status_code
        self.page = response.get_data(as_text=True)
        return self.page

    def token(self) -> str:
        found = FORM_TOKEN.search(self.page) or FORM_TOKEN.search(self.open())
        assert found is not None
        return found.group(1)

    def post(self, path: str, **form: str) -> str:
        data = {"form_token": self.token(), **form}
        response = self.client.post(path, data=data, headers=self.headers,
                                    follow_redirects=True)
        self.status = response.status_code
        self.page = response.get_data(as_text=True)
        return self.page

    def choose(self, key: str, node: str = "main") -> str:
        return self.post("/chat/choose", key=key, node=node)

    def write(self, text: str) -> str:
        return self.post("/chat/send", message=text)


def on_duty(app: Flask, *logins: str) -> None:
    """Put on the roster and available, as a supervisor's switch does."""
    with app.app_context():
        db.session.execute(sa.update(Operator).where(Operator.login.in_(logins))
                           .values(on_duty=True, presence="available"))
        db.session.commit()


def chats_in(app: Flask) -> list[ChatConversation]:
    with app.app_context():
        return list(db.session.scalars(sa.select(ChatConversation).order_by(
            ChatConversation.id)))


def raw_messages(app: Flask) -> list[ChatMessage]:
    with app.app_context():
        return list(db.session.scalars(sa.select(ChatMessage).order_by(ChatMessage.id)))
