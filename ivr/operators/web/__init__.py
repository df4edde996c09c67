"""The operators' page under /operators/: sign-in, the callback queue, and the supervisors'
figures and switches. Plain server-rendered pages; no caller's number leaves the server
except after an audited reveal."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask, Response, current_app, render_template, request, session
from flask_babel import Babel
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import IntegerConverter, Map

from ivr.database import db
from ivr.operators.web import login
from ivr.operators.web.forms import PAGE_LANGUAGES as PAGE_LANGUAGES
from ivr.operators.web.sessions import SessionsExceptForTwilio
from ivr.settings import Settings

HERE = Path(__file__).resolve().parent
PREFIX = "/operators"
# The largest id a row can have (a 64-bit signed column, on SQLite and PostgreSQL alike).
LARGEST_ID = 2**63 - 1
# No inline scripts or styles; nothing from anywhere else (the page works with no internet).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; "
       "base-uri 'none'; object-src 'none'")

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


def init_app(app: Flask, settings: Settings) -> None:
    app.session_interface = SessionsExceptForTwilio()
    app.config.update(
        SESSION_COOKIE_SECURE=settings.production,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        # Checked for every POST under /operators/ (see views.py), never on Twilio's webhooks.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=12 * 3600,
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=str(HERE / "translations"),
    )
    login_manager.init_app(app)
    login_manager.login_view = "operators.sign_in"
    login_manager.login_message = ""
    login_manager.session_protection = "basic"
    login_manager.user_loader(lambda user_id: login.load(db.session(), user_id))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=page_language)

    from ivr.operators.web import chats, supervision, views, wallboard

    app.url_map.converters["int"] = RowId  # before the page's routes are made
    app.register_blueprint(views.bp)
    app.register_blueprint(supervision.bp)
    app.register_blueprint(wallboard.bp)
    app.register_blueprint(chats.bp)
    if settings.operators_2fa == "required":
        app.before_request(lambda: login.second_factor_given() if _ours() else None)
    app.after_request(_headers)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(InternalServerError, _server_error)


class RowId(IntegerConverter):
    """`<int:...>` in the page's paths is a row's id: one past any id names nothing (404),
    where the database would refuse to compare it (a 500)."""

    def __init__(self, map: Map, fixed_digits: int = 0, min: int | None = None,
                 max: int | None = LARGEST_ID, signed: bool = False) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def protect_forms() -> None:
    """Every form posted to the page carries the session's CSRF token, or is refused."""
    if request.method == "POST" and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()


def page_language() -> str:
    if current_user.is_authenticated:
        return str(current_user.page_language)
    chosen = session.get("page_language")
    return chosen if chosen in PAGE_LANGUAGES else "en"


def _ours() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def _headers(response: Response) -> Response:
    if _ours():
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        # Same-origin only: Flask-WTF checks the Referer of forms posted over HTTPS.
        response.headers["Referrer-Policy"] = "same-origin"
        if not request.path.startswith(PREFIX + "/static/"):
            # Pages may hold a revealed number: never kept by a browser or a proxy.
            response.headers["Cache-Control"] = "no-store"
    return response


def _http_error(error: HTTPException) -> Response | HTTPException:
    """A readable page for a person; everything else (Twilio) gets the plain error."""
    if not _ours() or error.code is None:
        return error
    body = render_template("operators/error.html", code=error.code)
    return Response(body, error.code)


def _csrf_error(error: HTTPException) -> Response | HTTPException:
    if not _ours():
        return error
    return Response(render_template("operators/error.html", code=400, csrf=True), 400)


def _server_error(error: InternalServerError) -> Response | HTTPException:
    if not _ours():
        return error
    db.session.rollback()
    try:
        return Response(render_template("operators/error.html", code=500), 500)
    except Exception:
        return Response("Something went wrong on our side. Please try again.", 500,
                        mimetype="text/plain")
