"""The person's pages of the website's chat. Each view reads the form, calls one plain
function of ivr/chat and renders; a form without the chat's own token is refused (CSRF), and
whatever is sent, the answer is a readable page, never an error of ours."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from flask import Blueprint, Response, jsonify, redirect, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Response as BaseResponse

from ivr.chat import conversations, journey
from ivr.chat.conversations import Empty, Over, TooFast, TooLong
from ivr.chat.texts import ChatTexts
from ivr.database import db
from ivr.models import ChatConversation
from ivr.services import Hotline, current_hotline

COOKIE = "chat"
COOKIE_PATH = "/chat/"
NEUTRAL = "/weather"
# Nothing from anywhere else, no inline script or style, no frames, forms only to us.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
       "object-src 'none'")

bp = Blueprint("chat", __name__, template_folder="templates", static_folder="static",
               static_url_path="/chat/static")


def hotline() -> Hotline:
    return current_hotline()


def now() -> datetime:
    return hotline().clock.now()


def texts() -> ChatTexts:
    return ChatTexts(hotline().settings.prompts_dir, hotline().catalog)


def language(chat: ChatConversation | None = None) -> str:
    """The page's language: the one chosen on the page, else the chat's, else the browser's
    first language we have, else the menu's default."""
    offered = tuple(hotline().menu.languages)
    try:
        chosen = request.values.get("lang", "")
    except HTTPException:  # a body too large to read: the page's language only
        chosen = request.args.get("lang", "")
    if chosen in offered:
        return chosen
    if chat is not None:
        return chat.language
    return request.accept_languages.best_match(offered) or hotline().menu.default_language


def token() -> str | None:
    value = request.cookies.get(COOKIE)
    return value if value and len(value) <= conversations.LONGEST_TOKEN else None


def form_token(chat_token: str) -> str:
    key = hotline().settings.secret_key.encode()
    return hmac.new(key, b"chat-form:" + chat_token.encode(), hashlib.sha256).hexdigest()


def current_chat() -> ChatConversation | None:
    return conversations.of_token(db.session(), hotline().vault, token())


@bp.before_request
def refuse_forged_forms() -> BaseResponse | None:
    """Every form carries a token made from the chat's cookie: a page elsewhere cannot post
    in a person's name. Leaving is never refused: only the cookie is needed to end a chat."""
    if request.method != "POST":
        return None
    chat_token = token()
    if chat_token is None:
        return page("chat/message.html", 400, lang=language(), text="no_cookie")
    sent = request.form.get("form_token", "")
    if not hmac.compare_digest(sent, form_token(chat_token)):
        if request.endpoint == "chat.leave":
            return None
        return page("chat/message.html", 400, lang=language(), text="expired")
    return None


def page(template: str, status: int = 200, **context: object) -> Response:
    chat_token = token() or conversations.new_token()
    lang = str(context.pop("lang", None) or language())
    body = render_template(template, t=texts(), lang=lang, form_token=form_token(chat_token),
                           languages=_language_names(), **context)
    response = Response(body, status)
    if token() != chat_token:
        _set_cookie(response, chat_token)
    return response


def _language_names() -> list[tuple[str, str]]:
    names = texts()
    return [(code, names.get(code, "language_name")) for code in hotline().menu.languages]


def _set_cookie(response: Response, chat_token: str) -> None:
    # A session cookie (no expiry: gone when the browser closes), for the chat's pages only.
    response.set_cookie(COOKIE, chat_token, path=COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=hotline().settings.production)


def _forget(response: BaseResponse) -> BaseResponse:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="Strict",
                           secure=hotline().settings.production)
    return response


@bp.get("/chat/")
def home() -> BaseResponse:
    chat = current_chat()
    if chat is not None and chat.mode != "callback":
        if conversations.seen(chat, now()):
            db.session.commit()
        return conversation_page(chat)
    lang = language()
    if request.args.get("languages"):
        return page("chat/languages.html", lang=lang)
    screen = journey.screen(hotline().menu, request.args.get("node"))
    return page("chat/menu.html", lang=lang, screen=screen)


def conversation_page(chat: ChatConversation, status: int = 200, problem: str | None = None,
                      limit: int | None = None, draft: str = "") -> Response:
    session = db.session()
    return page("chat/conversation.html", status, lang=language(chat), chat=chat,
                lines=conversations.lines(session, hotline().vault, chat.id),
                place=conversations.place(session, chat), problem=problem, limit=limit,
                draft=draft)


@bp.post("/chat/choose")
def choose() -> BaseResponse:
    lang = language()
    destination = journey.choose(hotline().menu, request.form.get("node"),
                                 request.form.get("key"))
    match destination:
        case journey.ToOperator():
            chat_token = token()
            assert chat_token is not None  # refuse_forged_forms saw it
            outcome = journey.talk_now(db.session(), hotline(), chat_token, lang, now())
            if isinstance(outcome, journey.Unavailable):
                db.session.rollback()
                return page("chat/unavailable.html", lang=lang, why=outcome)
            db.session.commit()
            return redirect("/chat/", 303)
        case journey.ToCallback():
            return redirect(f"/chat/callback?lang={lang}", 303)
        case journey.ToLanguages():
            return redirect(f"/chat/?lang={lang}&languages=1", 303)
    assert isinstance(destination, journey.ShowNode)
    return redirect(f"/chat/?lang={lang}&node={destination.node}", 303)


@bp.get("/chat/callback")
def callback_form() -> Response:
    return page("chat/callback.html", answers=journey.CallbackAnswers(
        "", "2", "", "", request.args.get("reason", "chosen")))


@bp.post("/chat/callback")
def callback() -> BaseResponse:
    lang = language()
    form = request.form
    answers = journey.CallbackAnswers(
        number=form.get("number", ""), identify=form.get("identify", "2"),
        window=form.get("window", ""), message=form.get("message", ""),
        reason=form.get("reason", "chosen"))
    try:
        reference = journey.leave_callback_request(db.session(), hotline(), lang, answers,
                                                   now())
    except journey.NumberInvalid:
        return page("chat/callback.html", 400, answers=answers,
                    problem="callback_number_invalid")
    except TooLong as error:
        return page("chat/callback.html", 400, answers=answers, problem="too_long",
                    limit=error.limit)
    except Empty:
        return page("chat/callback.html", 400, answers=answers, problem="empty")
    except journey.NotSaved:
        return page("chat/callback.html", 503, answers=answers, problem="not_saved")
    db.session.commit()
    return page("chat/message.html", lang=lang, text="callback_saved",
                values={"reference": reference})


@bp.get("/chat/written")
def written_form() -> Response:
    return page("chat/written.html", draft="")


@bp.post("/chat/written")
def written() -> BaseResponse:
    chat_token = token()
    assert chat_token is not None
    draft = request.form.get("message", "")
    try:
        journey.leave_written_request(db.session(), hotline(), chat_token, language(), draft,
                                      now())
    except TooLong as error:
        return page("chat/written.html", 400, draft=draft, problem="too_long",
                    limit=error.limit)
    except Empty:
        return page("chat/written.html", 400, draft=draft, problem="empty")
    except TooFast:
        db.session.rollback()
        return page("chat/written.html", 429, draft=draft, problem="too_fast")
    db.session.commit()
    return redirect("/chat/", 303)


@bp.post("/chat/send")
def send() -> BaseResponse:
    chat = current_chat()
    if chat is None or chat.mode == "callback":
        return redirect(f"/chat/?lang={language()}", 303)
    draft = request.form.get("message", "")
    settings = hotline().settings
    try:
        conversations.from_person(db.session(), hotline().vault, chat, draft, now(),
                                  settings.chat_message_limit, settings.chat_messages_per_minute)
    except TooLong as error:
        return conversation_page(chat, 400, "too_long", error.limit, draft)
    except Empty:
        return conversation_page(chat, 400, "empty", draft=draft)
    except TooFast:
        return conversation_page(chat, 429, "too_fast", draft=draft)
    except Over:
        return conversation_page(chat, 409)
    db.session.commit()
    return redirect("/chat/#end", 303)


@bp.get("/chat/updates")
def updates() -> Response:
    """New messages for the page's script (each shown with textContent, never as markup)."""
    chat = current_chat()
    if chat is None or chat.mode == "callback":
        return _json({"status": "none", "messages": []})
    after = request.args.get("after", "0")
    after_id = int(after) if after.isascii() and after.isdigit() and len(after) < 18 else 0
    if conversations.seen(chat, now()):
        db.session.commit()
    words = texts()
    lang = language(chat)
    lines = conversations.lines(db.session(), hotline().vault, chat.id, after_id)
    return _json({
        "status": chat.status,
        "status_text": status_text(words, lang, chat, conversations.place(db.session(), chat)),
        "messages": [{"id": line.id, "author": line.author, "who": who(words, lang, line),
                      "text": shown(words, lang, line)} for line in lines],
    })


def _json(data: object) -> Response:
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response


def who(words: ChatTexts, lang: str, line: conversations.Line) -> str:
    return words.get(lang, {"person": "you", "operator": "operator"}.get(line.author, "desk"))


def shown(words: ChatTexts, lang: str, line: conversations.Line) -> str:
    if line.author == "desk":
        return words.get(lang, line.text if line.text in (conversations.JOINED,
                                                          conversations.ENDED) else "ended")
    return line.text


def status_text(words: ChatTexts, lang: str, chat: ChatConversation, place: int | None) -> str:
    if chat.status == "ended":
        return words.get(lang, "ended")
    if chat.status == "held":
        return words.get(lang, "held")
    if chat.mode == "written":
        return words.get(lang, "written_saved")
    said = words.get(lang, "waiting")
    return f"{said} {words.get(lang, 'place', place=place)}" if place else said


@bp.post("/chat/leave")
def leave() -> BaseResponse:
    """Leave now: the chat ends, its cookie goes, and the browser is sent to a neutral page.
    `again`: start afresh on the menu instead (after a chat that ended)."""
    chat = current_chat()
    if chat is not None:
        conversations.leave(chat, now())
        db.session.commit()
    where = f"/chat/?lang={language()}" if request.form.get("again") else NEUTRAL
    return _forget(redirect(where, 303))


@bp.get(NEUTRAL)
def neutral() -> BaseResponse:
    """A page that says nothing about us, and how to clear the browser's history."""
    response = Response(render_template("chat/neutral.html", t=texts(), lang=language()))
    return _forget(response)


@bp.after_request
def headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.endpoint != "chat.static":
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> Response:
    db.session.rollback()
    text = "not_found" if error.code in (404, 405) else "expired"
    if error.code == 413:
        text = "too_long"
    return page("chat/message.html", error.code or 400, text=text,
                values={"limit": hotline().settings.chat_message_limit})


@bp.errorhandler(InternalServerError)
def server_error(error: InternalServerError) -> Response:
    db.session.rollback()
    try:
        return page("chat/message.html", 500, text="error")
    except Exception:
        return Response("Sorry, something went wrong. Please try again.", 500,
                        mimetype="text/plain")
