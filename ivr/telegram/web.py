"""POST /telegram/webhook: the bot's updates from Telegram. Telegram proves it is Telegram
with the secret we gave it (X-Telegram-Bot-Api-Secret-Token): anything else is refused with
403. A valid update is always answered 200, whatever it holds, because Telegram sends again
anything else: a malformed or unknown one is logged by kind (never its text or who sent it)."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from ivr.database import db
from ivr.services import current_hotline
from ivr.telegram import delivery, journey, people, updates

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105

bp = Blueprint("telegram", __name__)
log = logging.getLogger("ivr.telegram.webhook")


def from_telegram() -> bool:
    settings = current_hotline().settings
    secret = settings.telegram_webhook_secret
    sent = request.headers.get(SECRET_HEADER, "")
    if not settings.telegram_bot_token or not secret:
        return False
    return hmac.compare_digest(sent.encode(), secret.encode())


def update_sent() -> Any:
    try:
        return request.get_json(force=True, silent=True)
    except HTTPException:  # a body over the size limit
        return None


@bp.post(updates.PATH)
def webhook() -> Response:
    if not from_telegram():
        return Response("forbidden\n", 403, mimetype="text/plain")
    update = update_sent()
    incoming = updates.read(update)
    if incoming is None:
        log.info("telegram update not taken: %s", updates.kind(update))
        return ok()
    hotline = current_hotline()
    now = hotline.clock.now()
    session = db.session()
    try:
        replies = journey.handle(session, hotline, incoming, now)
        session.commit()
    except Exception as error:  # the person is answered nothing; Telegram must not retry
        session.rollback()
        log.error("telegram update failed: %s", type(error).__name__)
        return ok()
    delivery.send_replies(hotline, incoming.chat_id, replies)
    try:
        person = people.find(session, hotline.vault, incoming.chat_id)
        if person is not None and delivery.deliver(session, hotline, person, now):
            session.commit()
    except Exception as error:
        session.rollback()
        log.error("telegram delivery failed: %s", type(error).__name__)
    return ok()


def ok() -> Response:
    return Response("", 200, mimetype="text/plain")
