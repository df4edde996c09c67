"""The website's chats on the operators' page: the chats of the operator's languages waiting
for one, taking one, reading and answering it, ending it. Views parse, call one function of
ivr/chat/desk.py and render."""

from __future__ import annotations

import logging

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as BaseResponse

from ivr.chat import desk
from ivr.chat.conversations import Empty, TooLong
from ivr.chat.journey import from_chat
from ivr.database import db
from ivr.models import CallbackRequest
from ivr.operators.web import protect_forms
from ivr.operators.web.context import hotline, languages, now
from ivr.operators.web.forms import ButtonForm
from ivr.operators.web.login import me, signed_in
from ivr.telegram import delivery

bp = Blueprint("operator_chats", __name__, url_prefix="/operators/chats")
bp.before_request(protect_forms)


@bp.errorhandler(desk.NotFound)
def _not_found(_error: desk.NotFound) -> tuple[str, int]:
    db.session.rollback()
    return render_template("operators/error.html", code=404), 404


@bp.errorhandler(desk.NotAvailable)
def _not_available(_error: desk.NotAvailable) -> BaseResponse:
    db.session.rollback()
    flash(_("Set yourself available first (at the top of the page) to take a chat."), "error")
    return redirect(url_for("operator_chats.chat_list"))


@bp.errorhandler(desk.NotYours)
def _not_yours(_error: desk.NotYours) -> BaseResponse:
    db.session.rollback()
    flash(_("This chat is not yours: take it first, or someone else took it, or it ended."),
          "error")
    return redirect(url_for("operator_chats.chat_list"))


@bp.app_template_global("chat_message_of")
def _chat_message_of(request_row: CallbackRequest) -> str | None:
    """The message written with a callback request left in the chat (its page shows it to
    the operator who holds the request)."""
    if not from_chat(request_row.first_call_sid):
        return None
    return desk.message_left_with(db.session(), hotline().vault, request_row.id)


@bp.app_template_global("from_web_chat")
def _from_web_chat(request_row: CallbackRequest) -> bool:
    return from_chat(request_row.first_call_sid)


@bp.route("")
@signed_in
def chat_list() -> str:
    chats = desk.chats_for(db.session(), me(), languages())
    return render_template("operators/chats.html", chats=chats, button=ButtonForm(),
                           now=now())


@bp.route("/<int:chat_id>/take", methods=["POST"])
@signed_in
def take(chat_id: int) -> BaseResponse:
    result = desk.take(db.session(), hotline().vault, me(), chat_id, now())
    db.session.commit()
    if result == "taken":
        flash(_("Someone else took this chat a moment ago. Choose another one."), "error")
        return redirect(url_for("operator_chats.chat_list"))
    if result == "ended":
        flash(_("This chat has ended: the person left."), "info")
        return redirect(url_for("operator_chats.chat_list"))
    return redirect(url_for("operator_chats.chat_page", chat_id=chat_id))


@bp.route("/<int:chat_id>")
@signed_in
def chat_page(chat_id: int, problem: str | None = None, draft: str = "",
              status: int = 200) -> tuple[str, int]:
    chat, lines = desk.read(db.session(), hotline().vault, me(), chat_id)
    return render_template("operators/chats_chat.html", chat=chat, lines=lines,
                           button=ButtonForm(), problem=problem, draft=draft,
                           limit=hotline().settings.chat_message_limit,
                           undelivered=delivery.undelivered(db.session(), chat.id)), status


@bp.route("/<int:chat_id>/updates")
@signed_in
def updates(chat_id: int) -> BaseResponse:
    """The person's new messages, for the chat page's script (shown with textContent)."""
    after = request.args.get("after", "0")
    after_id = int(after) if after.isascii() and after.isdigit() and len(after) < 18 else 0
    try:
        chat, lines = desk.read(db.session(), hotline().vault, me(), chat_id, after_id)
    except (desk.NotFound, desk.NotYours):
        db.session.rollback()
        response = jsonify({"status": "gone", "messages": []})
        response.status_code = 404
        return response
    response = jsonify({
        "status": chat.status,
        "messages": [{"id": line.id, "author": line.author, "who": _who(line.author),
                      "text": _said(line.author, line.text)} for line in lines]})
    response.headers["Cache-Control"] = "no-store"
    return response


def _who(author: str) -> str:
    return str({"person": _("Person"), "operator": _("Operator")}.get(author, _("Hotline")))


def _said(author: str, text: str) -> str:
    if author != "desk":
        return text
    return str(_("An operator joined.") if text == "joined" else _("The chat ended."))


@bp.route("/<int:chat_id>/reply", methods=["POST"])
@signed_in
def reply(chat_id: int) -> BaseResponse | tuple[str, int]:
    draft = request.form.get("message", "")
    limit = hotline().settings.chat_message_limit
    try:
        desk.reply(db.session(), hotline().vault, me(), chat_id, draft, now(), limit)
    except TooLong:
        db.session.rollback()
        return chat_page(chat_id, _("The message is too long: %(limit)d characters at most.",
                                    limit=limit), draft, 400)
    except Empty:
        db.session.rollback()
        return chat_page(chat_id, _("Write something first."), draft, 400)
    db.session.commit()
    return redirect(url_for("operator_chats.chat_page", chat_id=chat_id, _anchor="end"))


@bp.route("/<int:chat_id>/end", methods=["POST"])
@signed_in
def end(chat_id: int) -> BaseResponse:
    desk.end(db.session(), hotline().vault, me(), chat_id, now(),
             hotline().settings.wrap_up_seconds)
    db.session.commit()
    flash(_("The chat has ended."), "info")
    return redirect(url_for("operator_chats.chat_list"))


@bp.after_request
def _to_telegram(response: BaseResponse) -> BaseResponse:
    """After an operator wrote in, took or ended a Telegram conversation, what is pending goes
    out to Telegram now (a send that fails stays pending and is shown on the chat's page)."""
    chat_id = (request.view_args or {}).get("chat_id")
    if request.method == "POST" and isinstance(chat_id, int) and response.status_code in (
            302, 303):
        try:
            delivery.deliver_conversation(db.session(), hotline(), chat_id, now())
            db.session.commit()
        except Exception as error:  # kept pending: sent again by `ivr periodic`
            db.session.rollback()
            logging.getLogger("ivr.telegram").error("telegram delivery failed: %s",
                                                    type(error).__name__)
    return response
