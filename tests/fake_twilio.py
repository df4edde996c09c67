"""Twilio's REST API, faked on a `responses.RequestsMock`: the endpoints ivr/twilio/rest_api.py
uses, answering with Twilio's own JSON shapes. What was sent to each endpoint is kept in plain
attributes, whatever Twilio answered; `refuse_*`, `fail_fetches` and `lose_recording` make an
endpoint fail."""

from __future__ import annotations

import io
import json
import re
import secrets
import wave
from urllib.parse import parse_qs, urlsplit

import responses
from requests import PreparedRequest
from requests.exceptions import ReadTimeout

ACCOUNT = "AC" + "0" * 32  # the development account SID, which the test apps use
API = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}"
NUMBER_SID = "PN" + "a" * 32
HOTLINE = "+15005550006"

CALLS = re.compile(re.escape(f"{API}/Calls.json"))
A_CALL = re.compile(re.escape(f"{API}/Calls/") + r"(CA[0-9a-f]{32})\.json")
RECORDING_WAV = re.compile(re.escape(f"{API}/Recordings/") + r"(RE[0-9a-f]{32})\.wav")
RECORDING = re.compile(re.escape(f"{API}/Recordings/") + r"(RE[0-9a-f]{32})\.json")
NUMBERS = re.compile(re.escape(f"{API}/IncomingPhoneNumbers.json") + r"(\?.*)?")
A_NUMBER = re.compile(re.escape(f"{API}/IncomingPhoneNumbers/") + r"(PN[0-9a-f]{32})\.json")

Answer = tuple[int, dict[str, str], str | bytes]


def number(**fields: str | None) -> dict[str, object]:
    """One of the account's numbers as Twilio lists it, wired to Twilio's demo until changed."""
    return {"sid": NUMBER_SID, "account_sid": ACCOUNT, "phone_number": HOTLINE,
            "voice_url": "https://demo.twilio.com/welcome/voice/", "voice_method": "POST",
            "voice_fallback_url": None, "voice_fallback_method": "POST",
            "status_callback": None, "status_callback_method": "POST", **fields}


def page(*numbers: dict[str, object]) -> dict[str, object]:
    """A page of IncomingPhoneNumbers, as the list endpoint answers."""
    return {"incoming_phone_numbers": list(numbers), "meta": {
        "page": 0, "page_size": 1, "first_page_url": "", "previous_page_url": None,
        "next_page_url": None, "url": "", "key": "incoming_phone_numbers"}}


def a_wav(seconds: float = 0.5) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\x00\x10" * int(8000 * seconds))
    return out.getvalue()


def error(status: int, code: int, message: str) -> Answer:
    """Twilio's answer when it refuses: its error code and message as JSON."""
    return status, {"Content-Type": "application/json"}, json.dumps({
        "code": code, "message": message, "status": status,
        "more_info": f"https://www.twilio.com/docs/errors/{code}"})


def form(request: PreparedRequest) -> dict[str, str]:
    body = request.body or ""
    text = body.decode() if isinstance(body, bytes) else str(body)
    return {name: values[0] for name, values in parse_qs(text).items()}


def snake(field: str) -> str:
    """Twilio's form field name as its JSON spells it: VoiceUrl -> voice_url."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", field).lower()


class FakeTwilio:
    """Our account at Twilio: it places calls, serves and deletes recordings, lists and updates
    its numbers (`numbers`, one HOTLINE number wired to Twilio's demo to start with).

    Kept as sent, whatever the answer:
    - placed: the form fields of each call we asked for, with the "Sid" Twilio gave it (none
      if it refused);
    - fetched: (URL, Authorization header) of each recording fetched as WAV;
    - deleted: the SID of each recording we asked Twilio to delete;
    - looked_up: the PhoneNumber each list of the account's numbers was asked for;
    - number_updates: the form fields of each number update;
    - call_records: the SIDs of the call records Twilio holds (each call placed through it,
      and each call a test says Twilio saw with `a_call_happened`), until deleted;
    - call_deletes: the SID of each call record we asked Twilio to delete;
    - requests: every request that reached the fake, to any URL.
    """

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock
        self.numbers: list[dict[str, object]] = [number()]
        self.placed: list[dict[str, str]] = []
        self.fetched: list[tuple[str, str | None]] = []
        self.deleted: list[str] = []
        self.looked_up: list[str | None] = []
        self.number_updates: list[dict[str, str]] = []
        self.call_records: set[str] = set()
        self.recordings: set[str] = set()  # messages Twilio holds (a_recording_happened)
        self.call_deletes: list[str] = []
        self.in_progress: set[str] = set()  # deleting these answers Twilio's error 20009
        self._deletes_before_slow_down: int | None = None
        self._calls_refused: Answer | None = None
        self._recordings_lost: int | None = None
        self._deletes_refused: Answer | None = None
        self._fetch_failures: list[Answer | None] = []  # None: no answer in time
        self._update_refused: Answer | None = None
        mock.add_callback(responses.POST, CALLS, callback=self._place_call)
        mock.add_callback(responses.GET, RECORDING_WAV, callback=self._fetch_recording)
        mock.add_callback(responses.DELETE, RECORDING, callback=self._delete_recording)
        mock.add_callback(responses.GET, NUMBERS, callback=self._list_numbers)
        mock.add_callback(responses.DELETE, A_CALL, callback=self._delete_call)
        mock.add_callback(responses.POST, A_NUMBER, callback=self._update_number)

    @property
    def requests(self) -> list[PreparedRequest]:
        return [call.request for call in self.mock.calls]

    def refuse_calls(self, status: int = 500, code: int = 20500,
                     message: str = "Internal Server Error") -> None:
        self._calls_refused = error(status, code, message)

    def lose_recording(self, status: int = 404) -> None:
        """Twilio has the caller's message no more: fetching and deleting it answer `status`."""
        self._recordings_lost = status

    def refuse_deletes(self, status: int = 500, code: int = 20500,
                       message: str = "Internal Server Error") -> None:
        self._deletes_refused = error(status, code, message)

    def accept_deletes(self) -> None:
        self._deletes_refused = None

    def fail_fetches(self, *statuses: int | None) -> None:
        """The next fetches of a recording fail, one per status given (None: a timeout)."""
        self._fetch_failures = [None if status is None else error(status, 20000 + status,
                                                                   "Refused")
                                for status in statuses]

    def refuse_number_update(self, status: int = 400, code: int = 21402,
                             message: str = "VoiceUrl is not valid") -> None:
        self._update_refused = error(status, code, message)

    def a_call_happened(self, call_sid: str) -> None:
        """A call Twilio handled without our asking (a caller dialled in): it keeps a record."""
        self.call_records.add(call_sid)

    def a_recording_happened(self, recording_sid: str) -> None:
        """A caller left a message: Twilio holds it until we delete it."""
        self.recordings.add(recording_sid)

    def slow_down_after(self, deletes: int) -> None:
        """After this many more call record deletions, Twilio answers 429 Too Many Requests."""
        self._deletes_before_slow_down = deletes

    def _delete_call(self, request: PreparedRequest) -> Answer:
        match = A_CALL.fullmatch(str(request.url))
        assert match is not None
        sid = match.group(1)
        self.call_deletes.append(sid)
        if self._deletes_before_slow_down is not None:
            if self._deletes_before_slow_down <= 0:
                return error(429, 20429, "Too Many Requests")
            self._deletes_before_slow_down -= 1
        if sid in self.in_progress:
            return error(400, 20009, "Cannot delete this resource before it is complete")
        if sid not in self.call_records:
            return error(404, 20404, "The requested resource was not found")
        self.call_records.discard(sid)
        return 204, {}, ""

    def _place_call(self, request: PreparedRequest) -> Answer:
        fields = form(request)
        if self._calls_refused is not None:
            self.placed.append(fields)
            return self._calls_refused
        sid = "CA" + secrets.token_hex(16)
        self.placed.append({**fields, "Sid": sid})
        self.call_records.add(sid)
        return 201, {"Content-Type": "application/json"}, json.dumps({
            "sid": sid, "account_sid": ACCOUNT, "to": fields.get("To"),
            "from": fields.get("From"), "status": "queued", "direction": "outbound-api",
            "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}.json"})

    def _fetch_recording(self, request: PreparedRequest) -> Answer:
        authorization = request.headers.get("Authorization")
        if isinstance(authorization, bytes):
            authorization = authorization.decode()
        self.fetched.append((str(request.url), authorization))
        if self._recordings_lost is not None:
            return self._recording_gone()
        if self._fetch_failures:
            failure = self._fetch_failures.pop(0)
            if failure is None:
                raise ReadTimeout("Twilio did not answer in time")
            return failure
        return 200, {"Content-Type": "audio/x-wav"}, a_wav()

    def _delete_recording(self, request: PreparedRequest) -> Answer:
        match = RECORDING.fullmatch(str(request.url))
        assert match is not None
        self.deleted.append(match.group(1))
        if self._recordings_lost is not None:
            return self._recording_gone()
        if self._deletes_refused is not None:
            return self._deletes_refused
        self.recordings.discard(match.group(1))
        return 204, {}, ""

    def _recording_gone(self) -> Answer:
        status = self._recordings_lost or 404
        return error(status, 20000 + status, "The requested resource was not found")

    def _list_numbers(self, request: PreparedRequest) -> Answer:
        wanted = parse_qs(urlsplit(str(request.url)).query).get("PhoneNumber", [None])[0]
        self.looked_up.append(wanted)
        found = [each for each in self.numbers
                 if wanted is None or each["phone_number"] == wanted]
        return 200, {"Content-Type": "application/json"}, json.dumps(page(*found))

    def _update_number(self, request: PreparedRequest) -> Answer:
        match = A_NUMBER.fullmatch(str(request.url))
        assert match is not None
        fields = form(request)
        self.number_updates.append(fields)
        if self._update_refused is not None:
            return self._update_refused
        found = next((each for each in self.numbers if each["sid"] == match.group(1)), None)
        if found is None:
            return error(404, 20404, "The requested resource was not found")
        found.update({snake(name): value for name, value in fields.items()})
        return 200, {"Content-Type": "application/json"}, json.dumps(found)
