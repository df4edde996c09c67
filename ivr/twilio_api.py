"""The one module that talks to Twilio's REST API. Tests fake it with `responses`."""

from __future__ import annotations

import logging

from requests import RequestException
from twilio.base.exceptions import TwilioException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

# twilio-python logs request bodies (phone numbers in them) at INFO: keep that quiet.
_http_log = logging.getLogger("ivr.twilio_api.http")
_http_log.setLevel(logging.WARNING)
# A webhook may be waiting on us; Twilio gives it 15 s in all.
TIMEOUT = 5.0


class TwilioApiError(Exception):
    """Twilio refused or could not be reached; the message names what, never a number."""


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


def _reason(error: Exception) -> str:
    status = getattr(error, "status", None)
    code = getattr(error, "code", None)
    if status is not None:
        return f"HTTP {status}" + (f", Twilio error {code}" if code else "")
    return type(error).__name__
