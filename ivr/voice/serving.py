"""Twilio's voice webhooks, served by a Flask app of their own.

Everything under /voice/ is Twilio asking what a caller hears next, hundreds of times a
second at the busiest hour. Those requests skip what only the operators' page needs: no
session cookie is opened or saved, and no sign-in, CSRF, 2FA or security-header hook runs.
That keeps the framework's share of a webhook near that of an empty Flask app (`make bench`),
and leaves a cookie sent to a webhook unread. The webhooks' blueprints are registered on the
main app as well, so that it still knows every path (the metrics' labels, the docs, the
tests), but a request under /voice/ is answered here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from flask.sessions import SessionInterface, SessionMixin

from ivr.http_request import WebRequest
from ivr.voice import call_back, callback_request, menu, operator_leg, queue

PREFIX = "/voice/"
WSGI_PATH = "PATH_INFO"
BLUEPRINTS = (menu.bp, callback_request.bp, queue.bp, operator_leg.bp, call_back.bp)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class NoSessions(SessionInterface):
    """Webhooks keep no session: a cookie sent with one is never read, none is ever set."""

    def open_session(self, app: Flask, request: Any) -> SessionMixin:
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        return None


def webhooks_app(app: Flask, before_each: Callable[[], None]) -> Flask:
    """The app that answers Twilio's voice webhooks for `app`: the same Hotline (one
    `extensions` for both, so a reload of the prompts reaches both at once) and the same
    limits; `before_each` runs before every webhook (the prompts' reload check)."""
    voice = Flask(__name__, instance_path=app.instance_path, static_folder=None)
    voice.request_class = WebRequest
    voice.session_interface = NoSessions()
    voice.config.update(MAX_CONTENT_LENGTH=app.config["MAX_CONTENT_LENGTH"],
                        TESTING=app.config["TESTING"])
    voice.extensions = app.extensions
    voice.before_request(before_each)
    for blueprint in BLUEPRINTS:
        voice.register_blueprint(blueprint)
    return voice


class ByPath:
    """WSGI: a request under /voice/ to the webhooks' app, anything else to the main app."""

    def __init__(self, main: WsgiApp, voice: WsgiApp) -> None:
        self.main = main
        self.voice = voice

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        if environ.get(WSGI_PATH, "").startswith(PREFIX):
            return self.voice(environ, start_response)
        return self.main(environ, start_response)
