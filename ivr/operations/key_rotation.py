"""`ivr keys rotate`: every stored phone number, every operator's notes about a caller, the
operators' TOTP secrets, the website's chat messages and every caller's message we hold,
re-encrypted under the first key of PHONE_ENCRYPTION_KEYS, so that the older keys can be
retired.

It runs beside the live service: in batches, each its own short transaction, and a row is
only rewritten if it still holds the token that was read (the service may have written it
meanwhile, under the first key already). Stopped half-way, it is simply run again: a number
already under the first key is left as it is. Until it has finished, every key in the
setting still decrypts, so nothing is unreadable at any point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import Engine
from sqlalchemy.orm import InstrumentedAttribute

from ivr.database import unit_of_work
from ivr.models import (
    Call,
    CallbackDraft,
    CallbackNote,
    CallbackRequest,
    ChatMessage,
    Operator,
    RecordingCopy,
    TelegramChat,
)

BATCH = 500
RECORDING_BATCH = 10  # a message may weigh megabytes: a few at a time

# Every column that holds an encrypted number or text, with its table's key.
# tests/test_key_rotation.py checks that none in ivr/models.py is missing here.
ENCRYPTED_COLUMNS: tuple[tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]], ...] = (
    (Call.id, Call.from_number),
    (Call.id, Call.to_number),
    (CallbackRequest.id, CallbackRequest.number),
    (CallbackDraft.call_sid, CallbackDraft.number),
    (Operator.id, Operator.phone_number),
    (CallbackNote.id, CallbackNote.text),
    # Not a number, but a secret under the same keys: the operators' TOTP secrets.
    (Operator.id, Operator.totp_secret),
    # What people wrote in the website's chat, and what operators answered.
    (ChatMessage.id, ChatMessage.body),
    # The Telegram bot's people: their Telegram id, and a callback request they are typing.
    (TelegramChat.id, TelegramChat.chat_id),
    (TelegramChat.id, TelegramChat.draft),
)
# Every column that holds an encrypted recording (callers' messages, under the same keys).
ENCRYPTED_RECORDINGS: tuple[tuple[InstrumentedAttribute[Any], InstrumentedAttribute[Any]],
                            ...] = (
    (RecordingCopy.recording_sid, RecordingCopy.audio),
)


@dataclass
class Rotated:
    column: str
    rewritten: int = 0
    already: int = 0  # under the first key before we came
    unreadable: int = 0  # under no key we have: a key was retired too early
    recordings: bool = False  # callers' messages rather than numbers

    def __str__(self) -> str:
        text = f"{self.column}: {self.rewritten} re-encrypted, {self.already} already under " \
               "the first key"
        return text + (f", {self.unreadable} UNREADABLE with every key" if self.unreadable else "")


class Rotator:
    def __init__(self, keys: tuple[str, ...]) -> None:
        self.first = Fernet(keys[0])
        self.every = MultiFernet([Fernet(key) for key in keys])

    def new_token(self, token: str) -> str | None:
        """The token under the first key; None if it is under it already.

        Raises InvalidToken if no key decrypts it.
        """
        try:
            self.first.decrypt(token.encode("ascii"))
        except InvalidToken:
            return self.every.rotate(token.encode("ascii")).decode("ascii")
        return None


def rotate_column(engine: Engine, rotator: Rotator, key: InstrumentedAttribute[Any],
                  column: InstrumentedAttribute[Any], batch: int | None = None) -> Rotated:
    rotated = Rotated(f"{column.class_.__tablename__}.{column.key}")
    table = column.class_.__table__
    after: Any = None
    while True:
        with unit_of_work(engine) as session:
            connection = session.connection()
            query = (sa.select(key, column).where(column.is_not(None)).order_by(key)
                     .limit(batch or BATCH))
            if after is not None:
                query = query.where(key > after)
            rows = connection.execute(query).all()
            if not rows:
                return rotated
            after = rows[-1][0]
            for row_key, token in rows:
                _rotate_one(connection, rotator, rotated, table, key, column, row_key, token)


def _rotate_one(connection: sa.Connection, rotator: Rotator, rotated: Rotated, table: Any,
                key: InstrumentedAttribute[Any], column: InstrumentedAttribute[Any],
                row_key: Any, token: str) -> None:
    try:
        new = rotator.new_token(token)
    except InvalidToken:
        rotated.unreadable += 1
        return
    if new is None:
        rotated.already += 1
        return
    # Only if nobody changed it since we read it (then it is under the first key anyway).
    result = connection.execute(sa.update(table).where(key == row_key, column == token)
                                .values({column.key: new}))
    if result.rowcount:
        rotated.rewritten += 1
    else:
        rotated.already += 1


def rotate_all(engine: Engine, keys: tuple[str, ...],
               report: Callable[[Rotated], None]) -> list[Rotated]:
    """The numbers, then the recordings (reported apart: `recordings` is True for them)."""
    rotator = Rotator(keys)
    done = []
    for (key, column), recordings in [*((each, False) for each in ENCRYPTED_COLUMNS),
                                      *((each, True) for each in ENCRYPTED_RECORDINGS)]:
        rotated = rotate_column(engine, rotator, key, column,
                                RECORDING_BATCH if recordings else BATCH)
        rotated.recordings = recordings
        report(rotated)
        done.append(rotated)
    return done
