"""Cookie sessions, but not for Twilio: its requests carry no cookies and need none."""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

TWILIO_PATHS = ("/voice/", "/prompts/")


class SessionsExceptForTwilio(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(TWILIO_PATHS):
            return self.null_session_class()
        return super().open_session(app, request)
