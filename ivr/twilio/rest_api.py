"""The one module that talks to Twilio's REST API. Tests fake it with `responses`."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import requests
from requests import RequestException
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

# twilio-python logs request bodies (phone numbers in them) at INFO: keep that quiet.
_http_log = logging.getLogger("ivr.twilio_api.http")
_http_log.setLevel(logging.WARNING)
# A webhook may be waiting on us; Twilio gives it 15 s in all.
TIMEOUT = 5.0
API = "https://api.twilio.com/2010-04-01"
RECORDING_SID = re.compile(r"RE[0-9a-f]{32}")
CALL_SID = re.compile(r"CA[0-9a-f]{32}")


class TwilioApiError(Exception):
    """Twilio refused or could not be reached; the message names what, never a number.
    `status` is Twilio's HTTP status when it answered (401: the credentials are wrong; 429:
    slow down)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class NumberWiring:
    """Where one of the account's numbers sends its calls (Twilio's own field names)."""

    sid: str
    voice_url: str | None
    voice_method: str | None
    voice_fallback_url: str | None
    voice_fallback_method: str | None
    status_callback: str | None
    status_callback_method: str | None

    @classmethod
    def of(cls, number: Any) -> NumberWiring:
        return cls(sid=str(number.sid), voice_url=number.voice_url,
                   voice_method=number.voice_method,
                   voice_fallback_url=number.voice_fallback_url,
                   voice_fallback_method=number.voice_fallback_method,
                   status_callback=number.status_callback,
                   status_callback_method=number.status_callback_method)


class TwilioApi:
    def __init__(self, account_sid: str, auth_token: str) -> None:
        self._client = Client(account_sid, auth_token, http_client=TwilioHttpClient(
            timeout=TIMEOUT, logger=_http_log))

    def call(self, *, to: str, from_: str, url: str, status_callback: str,
             ring_seconds: int) -> str:
        """Place a call that runs the TwiML at `url` when answered; returns its CallSid."""
        try:
            call = self._client.calls.create(
                to=to, from_=from_, url=url, method="POST", timeout=ring_seconds,
                status_callback=status_callback, status_callback_method="POST",
                status_callback_event=["initiated", "ringing", "answered", "completed"])
        except (TwilioException, RequestException) as error:
            raise TwilioApiError(f"placing a call failed: {_reason(error)}") from None
        return str(call.sid)


    def recording_audio(self, recording_sid: str, timeout: float = TIMEOUT) -> bytes:
        """A caller's recorded message as WAV, fetched with the account's credentials, so
        that the operators' page can play it without the browser ever seeing Twilio."""
        if not RECORDING_SID.fullmatch(recording_sid):
            raise TwilioApiError("not a recording SID")
        account_sid = self._client.account_sid
        url = f"{API}/Accounts/{account_sid}/Recordings/{recording_sid}.wav"
        try:
            response = requests.get(url, auth=(account_sid, self._client.password or ""),
                                    timeout=timeout)
        except RequestException as error:
            raise TwilioApiError(f"fetching a recording failed: {_reason(error)}") from None
        if response.status_code != 200:
            raise TwilioApiError(f"fetching a recording failed: HTTP {response.status_code}",
                                 response.status_code)
        return response.content


    def find_number(self, phone_number: str) -> NumberWiring | None:
        """One of the account's incoming phone numbers, by its E.164 form."""
        try:
            found = self._client.incoming_phone_numbers.list(phone_number=phone_number, limit=1)
        except (TwilioException, RequestException) as error:
            raise TwilioApiError(f"listing the account's numbers failed: {_reason(error)}"
                                 ) from None
        return NumberWiring.of(found[0]) if found else None

    def wire_number(self, sid: str, **webhooks: str) -> NumberWiring:
        """Set a number's webhooks (`voice_url=...`); returns the number as Twilio now has it."""
        try:
            number = self._client.incoming_phone_numbers(sid).update(**webhooks)
        except (TwilioException, RequestException) as error:
            raise TwilioApiError(f"updating the number failed: {_reason(error)}") from None
        return NumberWiring.of(number)

    def delete_recording(self, recording_sid: str) -> bool:
        """Delete a caller's message at Twilio; False if Twilio had it no more (a 404)."""
        if not RECORDING_SID.fullmatch(recording_sid):
            raise TwilioApiError("not a recording SID")
        try:
            return bool(self._client.recordings(recording_sid).delete())
        except TwilioException as error:
            if getattr(error, "status", None) == 404:
                return False
            raise TwilioApiError(f"deleting a recording failed: {_reason(error)}",
                                 getattr(error, "status", None)) from None
        except RequestException as error:
            raise TwilioApiError(f"deleting a recording failed: {_reason(error)}") from None

    def delete_call(self, call_sid: str) -> bool:
        """Delete a finished call's record (its numbers with it); False if Twilio had it no
        more (a 404). A call not yet complete is refused (Twilio error 20009): try later."""
        if not CALL_SID.fullmatch(call_sid):
            raise TwilioApiError("not a call SID")
        try:
            return bool(self._client.calls(call_sid).delete())
        except TwilioException as error:
            status = getattr(error, "status", None)
            if status == 404:
                return False
            raise TwilioApiError(f"deleting a call record failed: {_reason(error)}",
                                 status) from None
        except RequestException as error:
            raise TwilioApiError(f"deleting a call record failed: {_reason(error)}") from None


def _reason(error: Exception) -> str:
    status = getattr(error, "status", None)
    code = getattr(error, "code", None)
    if status is not None:
        return f"HTTP {status}" + (f", Twilio error {code}" if code else "")
    return type(error).__name__
