"""The website's chat for the person who writes to us (/chat/): plain HTML forms that work
without JavaScript, one small script of our own that only makes new messages appear, and a
"leave now" button on every page. Nothing comes from another host; the only thing kept in the
browser is the chat's session cookie, which ends with the chat."""

from __future__ import annotations

from flask import Flask

from ivr.chat.web import views


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
