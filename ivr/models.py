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
NUMBER_DIGEST = sa.String(64)
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class Call(Base):
    """One row per Twilio CallSid: who called whom, in which language, and how it ended."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_sid: Mapped[str] = mapped_column(SID, unique=True)
    parent_call_sid: Mapped[str | None] = mapped_column(SID, index=True)
    direction: Mapped[str] = mapped_column(sa.String(16))
    from_number: Mapped[str | None] = mapped_column(ENCRYPTED_NUMBER)
    from_number_hash: Mapped[str | None] = mapped_column(NUMBER_DIGEST, index=True)
    to_number: Mapped[str | None] = mapped_column(ENCRYPTED_NUMBER)
    to_number_hash: Mapped[str | None] = mapped_column(NUMBER_DIGEST, index=True)
    language: Mapped[str | None] = mapped_column(sa.String(8))
    status: Mapped[str] = mapped_column(sa.String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[int | None] = mapped_column(sa.Integer)


class CallEvent(Base):
    """One row per webhook Twilio sent us about a call: the call's story, step by step."""

    __tablename__ = "call_events"
    __table_args__ = (
        # A retried or replayed webhook carries the same key and is stored once.
        sa.UniqueConstraint("call_sid", "dedupe_key"),
        sa.Index("ix_call_events_call_sid_at", "call_sid", "at"),
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
