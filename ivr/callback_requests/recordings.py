"""What Twilio keeps of a caller's message: as little and as briefly as we can.

Once Twilio reports a message `completed`, `fetch_recordings` (run by `ivr recordings fetch`
and on a schedule) copies it to us and then deletes it at Twilio, in that order:

1. download the WAV from Twilio;
2. store it encrypted (PHONE_ENCRYPTION_KEYS) and commit: the message is now `stored`;
3. read our copy back, and only if it decrypts to the same WAV, delete Twilio's: `deleted`.

A failed download or store leaves the message `pending` and at Twilio; a failed delete
leaves it `stored` (ours, and still at Twilio). Either is tried again on the next run, for
as long as it takes: a message is never dropped for having failed too often. The attempts
and the last error are kept on the row, for an engineer to see. Nothing here runs inside a
webhook: a download may take seconds, and a caller must never wait on Twilio.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ivr.database import unit_of_work
from ivr.models import Recording, RecordingCopy
from ivr.phones import PhoneVault
from ivr.twilio.rest_api import TwilioApiError

if TYPE_CHECKING:
    from ivr.services import Hotline

log = logging.getLogger(__name__)
PENDING, STORED, DELETED = "pending", "stored", "deleted"
BATCH = 50  # messages a run takes on; the next run takes the rest
# Not a webhook: a long message may take a while to come down.
DOWNLOAD_TIMEOUT = 60.0
REFUSED_CREDENTIALS = (401, 403)


class CredentialsRefused(Exception):
    """Twilio refused the account's credentials: no message can be fetched or deleted."""


@dataclass
class Fetched:
    stored: int = 0  # copied to us this run
    deleted: int = 0  # deleted at Twilio this run
    gone_already: int = 0  # stored by us, and Twilio had it no more
    waiting: int = 0  # still at Twilio only: the fetch failed, tried again next run
    undeleted: int = 0  # ours, still at Twilio too: the delete failed, tried again next run
    failures: list[str] = field(default_factory=list)  # "RE…: why", no caller data

    def __str__(self) -> str:
        return (f"{self.stored} stored, {self.deleted} deleted at Twilio"
                f" ({self.gone_already} gone there already), {self.waiting} still only at"
                f" Twilio, {self.undeleted} still to delete at Twilio")


def fetch_recordings(hotline: Hotline) -> Fetched:
    """Copy every completed message still at Twilio to us, then delete it there.

    Raises CredentialsRefused (at the first refusal) when Twilio refuses our credentials.
    """
    fetched = Fetched()
    for sid, state in _to_do(hotline):
        if state == PENDING and not _copy(hotline, sid, fetched):
            continue
        _delete_at_twilio(hotline, sid, fetched)
    return fetched


def _to_do(hotline: Hotline) -> list[tuple[str, str]]:
    with unit_of_work(hotline.engine) as session:
        rows = session.execute(
            sa.select(Recording.recording_sid, Recording.copy_state)
            .where(Recording.status == "completed",
                   Recording.copy_state.in_((PENDING, STORED)))
            .order_by(Recording.at, Recording.recording_sid).limit(BATCH)).all()
    return [(sid, state) for sid, state in rows]


def _copy(hotline: Hotline, sid: str, fetched: Fetched) -> bool:
    """Download and store one message; False (and it stays at Twilio) if either failed."""
    now = hotline.clock.now()
    try:
        audio = hotline.twilio.recording_audio(sid, timeout=DOWNLOAD_TIMEOUT)
    except TwilioApiError as error:
        _refused_credentials(error)
        return _failed(hotline, sid, PENDING, str(error), fetched)
    if not audio.startswith(b"RIFF"):
        return _failed(hotline, sid, PENDING, "Twilio's answer was not a WAV", fetched)
    try:
        with unit_of_work(hotline.engine) as session:
            session.add(RecordingCopy(recording_sid=sid, audio=hotline.vault.seal_audio(audio),
                                      stored_at=now))
            session.execute(_tried(sid, PENDING, now).values(copy_state=STORED, copy_error=None))
    except SQLAlchemyError as error:
        return _failed(hotline, sid, PENDING, f"storing it failed: {type(error).__name__}",
                       fetched)
    fetched.stored += 1
    return True


def _delete_at_twilio(hotline: Hotline, sid: str, fetched: Fetched) -> None:
    """Delete Twilio's copy, only once ours is committed and reads back whole."""
    if not _ours_is_whole(hotline, sid):
        _failed(hotline, sid, STORED, "our copy does not read back; Twilio's is kept", fetched)
        return
    try:
        present = hotline.twilio.delete_recording(sid)
    except TwilioApiError as error:
        _refused_credentials(error)
        _failed(hotline, sid, STORED, str(error), fetched)
        return
    if present:
        fetched.deleted += 1
    else:
        fetched.gone_already += 1
    with unit_of_work(hotline.engine) as session:
        session.execute(_tried(sid, STORED, hotline.clock.now())
                        .values(copy_state=DELETED, copy_error=None))


def _ours_is_whole(hotline: Hotline, sid: str) -> bool:
    try:
        with unit_of_work(hotline.engine) as session:
            token = session.scalar(sa.select(RecordingCopy.audio)
                                   .where(RecordingCopy.recording_sid == sid))
        return token is not None and hotline.vault.unseal_audio(token).startswith(b"RIFF")
    except (SQLAlchemyError, InvalidToken):
        return False


def _tried(sid: str, state: str, now: datetime) -> sa.Update:
    """The row's update for one more attempt, if nobody moved it on meanwhile."""
    return (sa.update(Recording)
            .where(Recording.recording_sid == sid, Recording.copy_state == state)
            .values(copy_attempts=Recording.copy_attempts + 1, copy_tried_at=now))


def _failed(hotline: Hotline, sid: str, state: str, why: str, fetched: Fetched) -> bool:
    if state == PENDING:
        fetched.waiting += 1
    else:
        fetched.undeleted += 1
    fetched.failures.append(f"{sid}: {why}")
    log.warning("recording kept at Twilio for the next run" if state == PENDING
                else "recording still to delete at Twilio", extra={"recording": sid, "why": why})
    try:
        with unit_of_work(hotline.engine) as session:
            session.execute(_tried(sid, state, hotline.clock.now())
                            .values(copy_error=why[:200]))
    except SQLAlchemyError:
        pass  # the database is what failed: the state is unchanged, and the next run tries
    return False


def _refused_credentials(error: TwilioApiError) -> None:
    if error.status in REFUSED_CREDENTIALS:
        raise CredentialsRefused(
            f"Twilio refused the account's credentials (HTTP {error.status}): check "
            "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN") from None


def our_copy(session: Session, vault: PhoneVault, sid: str) -> bytes | None:
    """Our copy of a message as WAV; None while it is only at Twilio."""
    token = session.scalar(sa.select(RecordingCopy.audio)
                           .where(RecordingCopy.recording_sid == sid))
    return None if token is None else vault.unseal_audio(token)


def is_ours(session: Session, sid: str) -> bool:
    """Whether we hold our own copy of the message yet."""
    return session.scalar(sa.select(sa.func.count()).select_from(RecordingCopy)
                          .where(RecordingCopy.recording_sid == sid)) == 1
