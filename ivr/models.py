"""The database schema: typed SQLAlchemy 2.0 models. Every change here needs a migration."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints, so that migrations can drop and alter them on SQLite and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would otherwise hand back naive ones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


SID = sa.String(64)
# Encrypted phone numbers: a Fernet token of an E.164 number is about 140 characters.
ENCRYPTED_NUMBER = sa.String(255)
# Free text about a caller (an operator's notes), Fernet-encrypted under the same keys.
ENCRYPTED_TEXT = sa.Text
NUMBER_DIGEST = sa.String(64)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Call(Base):
    """One row per Twilio CallSid: who called whom, in which language, and how it ended."""

    __tablename__ = "calls"
    __table_args__ = (
        # The legs whose record is still at Twilio, oldest ended first.
        sa.Index("ix_calls_twilio_left", "twilio_deleted_at", "ended_at"),
        # A call's other legs (operators', call backs); a caller's own leg has no parent, and
        # costs this index nothing when it is written.
        sa.Index("ix_calls_parent_call_sid", "parent_call_sid",
                 postgresql_where=sa.text("parent_call_sid IS NOT NULL"),
                 sqlite_where=sa.text("parent_call_sid IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_sid: Mapped[str] = mapped_column(SID, unique=True)
    parent_call_sid: Mapped[str | None] = mapped_column(SID)
    direction: Mapped[str] = mapped_column(sa.String(16))
    from_number: Mapped[str | None] = mapped_column(ENCRYPTED_NUMBER)
    from_number_hash: Mapped[str | None] = mapped_column(NUMBER_DIGEST, index=True)
    to_number: Mapped[str | None] = mapped_column(ENCRYPTED_NUMBER)
    to_number_hash: Mapped[str | None] = mapped_column(NUMBER_DIGEST)
    language: Mapped[str | None] = mapped_column(sa.String(8))
    status: Mapped[str] = mapped_column(sa.String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(sa.Integer)
    # When Twilio's record of this leg (the numbers in it) was deleted through the REST API.
    twilio_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallEvent(Base):
    """One row per webhook Twilio sent us about a call: the call's story, step by step."""

    __tablename__ = "call_events"
    __table_args__ = (
        # A retried or replayed webhook carries the same key and is stored once.
        # It also finds a call's events. The time's index grows at one end only, so it costs
        # a webhook little (one on call_sid and time was a random insert into a large tree,
        # and half of what storing an event cost); retention and figures read by time.
        sa.UniqueConstraint("call_sid", "dedupe_key"),
        sa.Index("ix_call_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_sid: Mapped[str] = mapped_column(SID)
    parent_call_sid: Mapped[str | None] = mapped_column(SID)
    kind: Mapped[str] = mapped_column(sa.String(16))
    node: Mapped[str | None] = mapped_column(sa.String(32))
    digits: Mapped[str | None] = mapped_column(sa.String(16))
    status: Mapped[str | None] = mapped_column(sa.String(16))
    outcome: Mapped[str | None] = mapped_column(sa.String(64))
    sequence_number: Mapped[int | None] = mapped_column(sa.Integer)
    dedupe_key: Mapped[str | None] = mapped_column(sa.String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Operator(Base):
    """A person who answers calls and calls people back. Made with `ivr operators add`."""

    __tablename__ = "operators"
    __table_args__ = (
        sa.CheckConstraint("role IN ('operator', 'supervisor')", name="role"),
        sa.CheckConstraint("presence IN ('available', 'break', 'signed_off', 'paused')",
                           name="presence"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    login: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    role: Mapped[str] = mapped_column(sa.String(16))
    languages: Mapped[str] = mapped_column(sa.String(64))  # comma-separated codes: "ru,uk"
    phone_number: Mapped[str] = mapped_column(ENCRYPTED_NUMBER)
    phone_number_hash: Mapped[str] = mapped_column(NUMBER_DIGEST, index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    # On the roster for this shift (a supervisor or `ivr operators duty` decides)...
    on_duty: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # ...and what the person is doing now (ivr/operators/presence.py): available, on a
    # break, signed off, or paused by the desk after missed rings. Only on duty and
    # available is rung, and not while in wrap-up after a conversation.
    presence: Mapped[str] = mapped_column(sa.String(16), default="signed_off",
                                          server_default="signed_off")
    presence_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wrap_up_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Rings missed in a row (no answer, busy, declined, not accepted); an accepted ring
    # sets it back to 0.
    missed_rings: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The longest idle operator is rung first.
    last_rung_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Signing out ends every session of the person, a copied cookie's too.
    sessions_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The language of the operators' page for them: en, ru or uk (web.PAGE_LANGUAGES).
    page_language: Mapped[str] = mapped_column(sa.String(8), default="en",
                                               server_default="en")
    # The second factor: a TOTP secret (encrypted like a number, with the same keys), the
    # last time step a code was taken at (a code is never taken twice) and the hashes of the
    # recovery codes not yet spent, one a line. No secret: not enrolled.
    totp_secret: Mapped[str | None] = mapped_column(ENCRYPTED_NUMBER)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    recovery_codes: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def language_codes(self) -> tuple[str, ...]:
        return tuple(code for code in self.languages.split(",") if code)


# A ring in one of these states keeps the operator busy.
ACTIVE_RING = ("ringing", "connected")


class Ring(Base):
    """A call we placed to an operator because a caller of their language is waiting."""

    __tablename__ = "operator_rings"
    __table_args__ = (
        # One live ring per operator, even with several instances deciding at once.
        sa.Index("uq_operator_rings_live", "operator_id", unique=True,
                 sqlite_where=sa.text("status IN ('ringing', 'connected')"),
                 postgresql_where=sa.text("status IN ('ringing', 'connected')")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    operator_id: Mapped[int] = mapped_column(sa.ForeignKey("operators.id"), index=True)
    language: Mapped[str] = mapped_column(sa.String(8))
    call_sid: Mapped[str | None] = mapped_column(SID, unique=True)
    status: Mapped[str] = mapped_column(sa.String(16))  # ringing, connected, ended
    outcome: Mapped[str | None] = mapped_column(sa.String(32))
    caller_call_sid: Mapped[str | None] = mapped_column(SID)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Surge(Base):
    """A language whose callers go straight to the callback request (too many calls)."""

    __tablename__ = "surges"

    language: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by: Mapped[str] = mapped_column(sa.String(64))


class CallbackRequest(Base):
    """Somebody who reached us and is waiting for us to call them back."""

    __tablename__ = "callback_requests"
    __table_args__ = (
        # One open request per number: a second call updates it instead.
        sa.Index("uq_callback_requests_open_number", "number_hash", unique=True,
                 sqlite_where=sa.text("status = 'open'"),
                 postgresql_where=sa.text("status = 'open'")),
        # The number a caller is told names one open request.
        sa.Index("uq_callback_requests_open_reference", "reference", unique=True,
                 sqlite_where=sa.text("status = 'open'"),
                 postgresql_where=sa.text("status = 'open'")),
        sa.Index("ix_callback_requests_queue", "status", "priority", "created_at"),
        sa.Index("ix_callback_requests_queue_language", "status", "language", "priority",
                 "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(8), index=True)
    number: Mapped[str] = mapped_column(ENCRYPTED_NUMBER)
    number_hash: Mapped[str] = mapped_column(NUMBER_DIGEST)
    number_source: Mapped[str] = mapped_column(sa.String(16))  # caller_id, entered
    # False when the caller never said "yes, call this number" (they hung up first).
    number_confirmed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    language: Mapped[str] = mapped_column(sa.String(8))
    reason: Mapped[str] = mapped_column(sa.String(24))
    priority: Mapped[int] = mapped_column(sa.Integer)  # 1 is the most urgent
    status: Mapped[str] = mapped_column(sa.String(16), default="open")
    may_identify: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    # any, day, evening, or wait: do not call at all, the caller will call us again.
    safe_window: Mapped[str | None] = mapped_column(sa.String(8))
    caller_timezone: Mapped[str | None] = mapped_column(sa.String(64))
    # Minutes east of UTC, from the hour the caller told us when their number does not tell
    # their zone (whole hours: see questions.utc_offset).
    caller_utc_offset: Mapped[int | None] = mapped_column(sa.Integer)
    first_call_sid: Mapped[str] = mapped_column(SID)
    last_call_sid: Mapped[str] = mapped_column(SID)
    attempts: Mapped[int] = mapped_column(sa.Integer, default=1)
    recording_sid: Mapped[str | None] = mapped_column(sa.String(64))
    recording_duration: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Worked from the operators' page: who holds it (until the claim lapses), what was tried.
    claimed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("operators.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    callback_attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # After "no answer" (ivr.operators.retries): not due before this time; the tries without
    # an answer since the caller last called or a supervisor said "try again"; and, once they
    # reached CALLBACK_MAX_ATTEMPTS, since when a supervisor's decision is awaited.
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tries_in_round: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    decision_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outcome: Mapped[str | None] = mapped_column(sa.String(16))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class RequestCall(Base):
    """Which call made or renewed which callback request, so a retried save is stored once."""

    __tablename__ = "callback_calls"

    call_sid: Mapped[str] = mapped_column(SID, primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("callback_requests.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The request number this call's caller heard; None when nobody was told (abandoned).
    # It differs from the request's own when a request saved from the spool renewed an older
    # one: a number a caller was told always finds their request.
    reference: Mapped[str | None] = mapped_column(sa.String(8), index=True)


class CallbackDraft(Base):
    """A request being taken whose number we know: kept if the caller hangs up before the end."""

    __tablename__ = "callback_drafts"

    call_sid: Mapped[str] = mapped_column(SID, primary_key=True)
    number: Mapped[str] = mapped_column(ENCRYPTED_NUMBER)
    number_source: Mapped[str] = mapped_column(sa.String(16))
    number_confirmed: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    language: Mapped[str] = mapped_column(sa.String(8))
    reason: Mapped[str] = mapped_column(sa.String(24))
    may_identify: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    safe_window: Mapped[str | None] = mapped_column(sa.String(8))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Recording(Base):
    """A message a caller left, as Twilio's recording status callback reported it."""

    __tablename__ = "recordings"

    recording_sid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    call_sid: Mapped[str] = mapped_column(SID, index=True)
    status: Mapped[str] = mapped_column(sa.String(16))
    duration_seconds: Mapped[int | None] = mapped_column(sa.Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Our copy of a completed message (ivr/callback_requests/recordings.py): `pending` while
    # only Twilio has it, `stored` once ours is committed (Twilio's still to delete),
    # `deleted` once Twilio has it no more. A failed fetch or delete is tried again.
    copy_state: Mapped[str] = mapped_column(sa.String(16), default="pending",
                                            server_default="pending", index=True)
    copy_attempts: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    copy_error: Mapped[str | None] = mapped_column(sa.String(200))
    copy_tried_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecordingCopy(Base):
    """Our copy of a caller's message: the WAV as a Fernet token under PHONE_ENCRYPTION_KEYS
    (so `ivr keys rotate` re-encrypts it), in the database every web instance shares."""

    __tablename__ = "recording_copies"

    recording_sid: Mapped[str] = mapped_column(sa.ForeignKey("recordings.recording_sid"),
                                               primary_key=True)
    audio: Mapped[str] = mapped_column(sa.Text)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CallBackAttempt(Base):
    """One go at an operator's call back: the call we placed (if any) and what came of it."""

    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("callback_requests.id"), index=True)
    operator_id: Mapped[int] = mapped_column(sa.ForeignKey("operators.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The operator's leg, placed through Twilio; None when they recorded an outcome only.
    call_sid: Mapped[str | None] = mapped_column(SID, unique=True)
    operator_status: Mapped[str | None] = mapped_column(sa.String(16))
    caller_status: Mapped[str | None] = mapped_column(sa.String(16))
    outcome: Mapped[str | None] = mapped_column(sa.String(16))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallbackNote(Base):
    """An operator's note on a request, kept with the attempt it is about (none: about the
    request). Sealed like numbers (PHONE_ENCRYPTION_KEYS); only the request's page opens it."""

    __tablename__ = "callback_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("callback_requests.id"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(sa.ForeignKey("callback_attempts.id"))
    # None for a note written before notes were kept per attempt (its author is unknown).
    operator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("operators.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    text: Mapped[str] = mapped_column(ENCRYPTED_TEXT)


class AuditEntry(Base):
    """Who saw or did what on the operators' page. Written once, never changed.

    Each entry's `hash` is chained to the one before it (ivr.operators.audit.link), so an
    entry edited, removed or slipped in afterwards breaks the chain (`ivr audit verify`).
    """

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_login_action_at", "login", "action", "at"),
                      sa.Index("ix_audit_log_address_action_at", "address", "action", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    operator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("operators.id"))
    login: Mapped[str] = mapped_column(sa.String(64))  # as typed, for a failed sign-in
    action: Mapped[str] = mapped_column(sa.String(24))
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("callback_requests.id"),
                                                   index=True)
    detail: Mapped[str | None] = mapped_column(sa.String(200))
    address: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64))


class SignInCount(Base):
    """Failed sign-ins in one window of time: for a login from one address ("pair"), for a
    login from anywhere ("login"), or from one address for any login ("address"); the part a
    count is not about is ''. Counted before the password is judged, by one statement, so
    that a burst cannot overtake the limit; the audit log keeps every failure itself."""

    __tablename__ = "sign_in_counts"

    scope: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    login: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    address: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    failures: Mapped[int] = mapped_column(sa.Integer)


class TwilioAlert(Base):
    """An error or warning Twilio met with our webhooks, from its Debugger webhook.

    Anything in it that looks like a phone number is masked before it is stored.
    """

    __tablename__ = "twilio_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sid: Mapped[str] = mapped_column(SID, unique=True)  # Twilio's; a redelivery is stored once
    level: Mapped[str] = mapped_column(sa.String(16))
    error_code: Mapped[str | None] = mapped_column(sa.String(16))
    resource_sid: Mapped[str | None] = mapped_column(SID)  # usually the call's CallSid
    url: Mapped[str | None] = mapped_column(sa.String(500))
    message: Mapped[str | None] = mapped_column(sa.String(500))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PeriodicJob(Base):
    """A job of the periodic work (`ivr periodic`): who runs it now, and how it last went.
    The lease keeps two instances from running it at once; a crashed holder's lease lapses."""

    __tablename__ = "periodic_jobs"

    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    holder: Mapped[str | None] = mapped_column(sa.String(64))
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(200))


class BlockedNumber(Base):
    """A caller's number a supervisor blocked for a time: their calls hear a neutral message
    and end. Kept by its keyed digest only; the masked form is what the page shows."""

    __tablename__ = "blocked_numbers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number_hash: Mapped[str] = mapped_column(NUMBER_DIGEST, index=True)
    masked_number: Mapped[str] = mapped_column(sa.String(32))
    reason: Mapped[str] = mapped_column(sa.String(200))
    blocked_by: Mapped[str] = mapped_column(sa.String(64))
    blocked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lifted_by: Mapped[str | None] = mapped_column(sa.String(64))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FlagDismissal(Base):
    """A supervisor looked at a number's burst of calls and let it be: only calls after this
    count towards flagging it again."""

    __tablename__ = "flag_dismissals"

    number_hash: Mapped[str] = mapped_column(NUMBER_DIGEST, primary_key=True)
    dismissed_by: Mapped[str] = mapped_column(sa.String(64))
    dismissed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChatConversation(Base):
    """A person writing to us from the website's chat (/chat/). Their browser holds a random
    token in a session cookie; we keep only its keyed digest. `mode`: `live` (talking to an
    operator now), `written` (a request answered here in writing), `callback` (a callback
    request left from the chat: its written message is kept here, beside the request).
    `status`: `waiting` for an operator, `held` by one (`operator_id`), or `ended`."""

    __tablename__ = "chat_conversations"
    __table_args__ = (
        sa.Index("ix_chat_conversations_queue", "status", "language", "waiting_since"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(NUMBER_DIGEST, unique=True)
    language: Mapped[str] = mapped_column(sa.String(8))
    mode: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))
    # How the person writes to us: `web` (the website's chat); other channels (a messenger
    # bot) add their own code. The queue and the figures show and count it.
    channel: Mapped[str] = mapped_column(sa.String(16), default="web", server_default="web")
    operator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("operators.id"))
    request_id: Mapped[int | None] = mapped_column(sa.ForeignKey("callback_requests.id"),
                                                   index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    waiting_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the person's page last asked for news or sent something: a waiting chat whose
    # person is gone for CHAT_IDLE_MINUTES ends (ivr/chat/conversations.py end_idle).
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class ChatMessage(Base):
    """One message of a conversation: the text sealed under PHONE_ENCRYPTION_KEYS, like notes,
    so `ivr keys rotate` re-encrypts it. `author`: `person`, `operator` or `desk` (what the
    line itself said: "an operator joined")."""

    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(sa.ForeignKey("chat_conversations.id"),
                                                 index=True)
    author: Mapped[str] = mapped_column(sa.String(16))
    operator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("operators.id"))
    body: Mapped[str] = mapped_column(ENCRYPTED_TEXT)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class TelegramChat(Base):
    """A person who writes to the Telegram bot. Their Telegram chat id is personal data like a
    phone number: kept only encrypted (`chat_id`), beside its keyed digest (`chat_hash`) that
    finds them again. `step` is where they are in the journey (`node` the menu they see);
    `draft` the callback request they are typing, sealed. `conversation_id` is their current
    conversation; the operators' and the line's messages in it up to `delivered_id` have
    reached Telegram, the rest are sent again (`failures` in a row, `next_try_at`)."""

    __tablename__ = "telegram_chats"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_hash: Mapped[str] = mapped_column(NUMBER_DIGEST, unique=True)
    chat_id: Mapped[str] = mapped_column(ENCRYPTED_NUMBER)
    language: Mapped[str] = mapped_column(sa.String(8))
    step: Mapped[str] = mapped_column(sa.String(24))
    node: Mapped[str | None] = mapped_column(sa.String(64))
    draft: Mapped[str | None] = mapped_column(ENCRYPTED_TEXT)
    conversation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("chat_conversations.id"), index=True)
    delivered_id: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    failures: Mapped[int] = mapped_column(sa.Integer, default=0)
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Messages the bot answers outside a conversation (and anything not text), counted per
    # minute from `minute_started_at`: a flood gets one "wait", not an answer each.
    minute_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    messages_this_minute: Mapped[int] = mapped_column(sa.Integer, default=0,
                                                      server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
