"""A phone that calls the app the way Twilio would: signed requests, following the TwiML.

It is how the tests play a caller's (or an operator's) story, and how an engineer tries a menu
change before a real caller does. It records what the person on the phone would hear.

What Twilio does on its own (time passing in a queue, putting two calls through, a recording
being ready) the test or tool asks for explicitly: `wait()`, `put_through()`, `record()`.

How long the caller listened is counted as issue 12's goals count it: each recording its WAV's
length, each `<Say>` at 14 characters a second, every prompt in full (`seconds_heard`); the
timeouts the caller sat through are added up in `Phone.timeouts_waited`.
"""

from __future__ import annotations

import secrets
import wave
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from http.client import HTTPException
from pathlib import Path
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from twilio.request_validator import RequestValidator

# send(method, url, params, headers) -> (status, content type, body)
Send = Callable[[str, str, dict[str, str], dict[str, str]], tuple[int, str, bytes]]
MAX_REDIRECTS = 25
Request = tuple[str, str, dict[str, str]]  # method, URL, extra parameters
TWILIO_TIMEOUT = 5  # what <Gather> and <Record> wait for when their TwiML names no timeout
SAY_CHARACTERS_PER_SECOND = 14  # issue 12's estimate of how fast Twilio's voices speak


class CallFailed(AssertionError):
    """The app answered something Twilio could not use: the caller would hear an error."""


@dataclass(frozen=True)
class Heard:
    """One thing the caller heard: a recording (`play`) or Twilio's voice (`say`)."""

    kind: str
    lang: str | None
    prompt: str | None = None
    text: str | None = None
    url: str | None = None

    def __str__(self) -> str:
        if self.kind == "play":
            return f"[{self.lang}] {self.prompt} (recording)"
        return f"[{self.lang}] {self.text}"


@dataclass
class Gather:
    action: str
    method: str
    rest: list[ET.Element]
    url: str
    finish_on_key: str
    timeout: int = TWILIO_TIMEOUT


@dataclass
class Recorder:
    action: str
    rest: list[ET.Element]
    url: str
    status_callback: str | None
    timeout: int = TWILIO_TIMEOUT


@dataclass
class Queued:
    action: str
    wait_url: str
    time: int = 0
    position: int = 1
    size: int = 1
    heard_before: int = 0  # how many things the caller had heard when they joined the queue


@dataclass
class DialingQueue:
    queue: str
    announce: str
    action: str


@dataclass
class Phone:
    send: Send
    auth_token: str
    base_url: str
    caller: str = "+79161234567"
    hotline: str = "+15005550006"
    direction: str = "inbound"
    account_sid: str = "AC" + "0" * 32
    call_sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    fetch_media: bool = False
    # (language, text) → prompt id: which prompt a <Say> spoke (see `prompt_names`).
    prompt_names: Mapping[tuple[str, str], str] = field(default_factory=dict)
    seconds_per_wait: int = 30  # how long each round of the queue's wait music takes
    # Twilio's fallback URL, tried when a step fails (no answer, not TwiML). None: a failed
    # step fails the call, which is what most tests want to see.
    fallback_path: str | None = None
    fallbacks: int = 0
    heard: list[Heard] = field(default_factory=list)
    timeouts_waited: int = 0  # seconds Twilio waited for a key or a message that never came
    hung_up: bool = False
    queued: Queued | None = None
    dialing: DialingQueue | None = None
    last_recording: tuple[str, str | None, int] | None = None
    _gather: Gather | None = None
    _recorder: Recorder | None = None
    _status: str = "ringing"

    # --- what the person on the phone does ---------------------------------------------------

    def dial(self, path: str = "/voice/incoming") -> list[Heard]:
        return self._follow(("POST", self.base_url + path, {}), [])

    def answer(self, url: str) -> list[Heard]:
        """An outbound call (to an operator) is picked up: Twilio fetches its TwiML."""
        return self._follow(("POST", url, {}), [])

    def press(self, keys: str) -> list[Heard]:
        gather = self._take_gather()
        digits = keys.removesuffix(gather.finish_on_key) if gather.finish_on_key else keys
        return self._follow((gather.method, urljoin(gather.url, gather.action),
                             {"Digits": digits}), [])

    def wait(self) -> list[Heard]:
        """Say nothing until the app gives up waiting (or, in a queue, a round of music)."""
        heard: list[Heard] = []
        if self._recorder is not None:
            recorder, self._recorder = self._recorder, None
            self.timeouts_waited += recorder.timeout
            return self._follow(self._run(recorder.rest, recorder.url, heard), heard)
        if self._gather is not None:
            gather = self._take_gather()
            self.timeouts_waited += gather.timeout
            next_request = self._run(gather.rest, gather.url, heard)
            if next_request is not None or self.queued is None:
                return self._follow(next_request, heard)
        if self.queued is not None:
            self.queued.time += self.seconds_per_wait
            return self._follow(("POST", self.queued.wait_url, {}), heard)
        raise CallFailed("the call is not waiting for the caller")

    def record(self, seconds: int, recording_sid: str | None = None) -> list[Heard]:
        """Speak a message into a <Record> and press #."""
        if self._recorder is None:
            raise CallFailed("the call is not recording")
        recorder, self._recorder = self._recorder, None
        sid = recording_sid or "RE" + secrets.token_hex(16)
        self.last_recording = (sid, recorder.status_callback, seconds)
        return self._follow(("POST", urljoin(recorder.url, recorder.action), {
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{self.account_sid}"
                            f"/Recordings/{sid}",
            "RecordingSid": sid, "RecordingDuration": str(seconds), "Digits": "#"}), [])

    def recording_ready(self, status: str = "completed") -> tuple[int, bytes]:
        """Twilio's recording status callback for the last message recorded."""
        if self.last_recording is None:
            raise CallFailed("nothing was recorded")
        sid, callback, seconds = self.last_recording
        if callback is None:
            raise CallFailed("the <Record> asked for no recording status callback")
        return self.post(callback, {"RecordingSid": sid, "RecordingStatus": status,
                                    "RecordingDuration": str(seconds),
                                    "RecordingSource": "RecordVerb"})

    def hang_up(self, status: str = "completed", duration: int = 30,
                sequence: int = 0) -> tuple[int, bytes]:
        """The caller hangs up; in a queue, Twilio first tells the <Enqueue> action."""
        if self.queued is not None:
            queued, self.queued = self.queued, None
            self._request("POST", queued.action, {"QueueResult": "hangup",
                                                  "QueueTime": str(queued.time)})
        self.hung_up = True
        self._gather = self._recorder = None
        return self.status_callback(status, CallDuration=str(duration),
                                    SequenceNumber=str(sequence))

    def put_through(self, operator: Phone) -> list[Heard]:
        """Twilio connects the operator's <Dial><Queue> to this caller, first in the queue."""
        if self.queued is None or operator.dialing is None:
            raise CallFailed("nobody is queued, or the operator is not dialling the queue")
        heard: list[Heard] = []
        self._follow(("POST", operator.dialing.announce, {
            "DequeingCallSid": operator.call_sid, "QueueTime": str(self.queued.time),
            "QueueSid": "QU" + "0" * 32}), heard)
        self._gather = None
        return heard

    def conversation_ends(self, operator: Phone) -> tuple[list[Heard], list[Heard]]:
        """The operator and the caller finished talking: what each hears after."""
        if self.queued is None or operator.dialing is None:
            raise CallFailed("these two were not put through")
        queued, self.queued = self.queued, None
        dialing, operator.dialing = operator.dialing, None
        caller_heard = self._follow(("POST", queued.action, {
            "QueueResult": "bridged", "QueueTime": str(queued.time)}), [])
        operator_heard = operator._follow(("POST", dialing.action, {
            "DialCallStatus": "completed", "DialCallSid": self.call_sid}), [])
        return caller_heard, operator_heard

    def status_callback(self, status: str, **extra: str) -> tuple[int, bytes]:
        return self.post(self.base_url + "/voice/status", {"CallStatus": status, **extra})

    def post(self, url: str, extra: dict[str, str]) -> tuple[int, bytes]:
        params = {**self.params(), **extra}
        code, _, body = self.send("POST", url, params, self.signed(url, params))
        return code, body

    # --- what Twilio would send ------------------------------------------------------------

    @property
    def listening(self) -> bool:
        return self._gather is not None

    @property
    def recording(self) -> bool:
        return self._recorder is not None

    @property
    def waiting_for(self) -> int | None:
        """The seconds Twilio waits now for a key or for the end of a message; None if it
        waits for neither."""
        if self._recorder is not None:
            return self._recorder.timeout
        return self._gather.timeout if self._gather is not None else None

    def params(self) -> dict[str, str]:
        params = {"CallSid": self.call_sid, "AccountSid": self.account_sid, "From": self.caller,
                  "To": self.hotline, "Caller": self.caller, "Called": self.hotline,
                  "CallStatus": self._status, "Direction": self.direction,
                  "ApiVersion": "2010-04-01"}
        self._status = "in-progress"
        return params

    def signed(self, url: str, params: dict[str, str]) -> dict[str, str]:
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        return {"X-Twilio-Signature": signature}

    def _take_gather(self) -> Gather:
        if self.hung_up or self._gather is None:
            raise CallFailed("the call is not waiting for a key")
        gather, self._gather = self._gather, None
        return gather

    def _queue_params(self) -> dict[str, str]:
        if self.queued is None:
            return {}
        return {"QueuePosition": str(self.queued.position), "QueueTime": str(self.queued.time),
                "CurrentQueueSize": str(self.queued.size), "QueueSid": "QU" + "0" * 32,
                "AvgQueueTime": str(self.queued.time), "MaxQueueSize": "100"}

    def _request(self, method: str, url: str, extra: dict[str, str]) -> ET.Element:
        params = {**self.params(), **self._queue_params(), **extra}
        try:
            status, content_type, body = self.send(method, url, params, self.signed(url, params))
            return _twiml(status, content_type, body, url)
        except (CallFailed, OSError, HTTPException):
            fallback = self.base_url + self.fallback_path if self.fallback_path else None
            if fallback is None or url == fallback:
                raise
        # As Twilio does: the number's fallback URL speaks for a step that failed.
        self.fallbacks += 1
        return self._request("POST", fallback, {"ErrorUrl": url, "ErrorCode": "11200"})

    def _follow(self, next_request: Request | None, heard: list[Heard]) -> list[Heard]:
        """Request each URL the TwiML sends the call to, until it waits or ends."""
        for _ in range(MAX_REDIRECTS):
            if next_request is None:
                self.heard.extend(heard)
                return heard
            method, url, extra = next_request
            next_request = self._run(list(self._request(method, url, extra)), url, heard)
        raise CallFailed(f"more than {MAX_REDIRECTS} redirects in a row")

    def _run(self, verbs: list[ET.Element], url: str, heard: list[Heard]) -> Request | None:
        """Play the verbs; return the next request, or None when the call waits or ends."""
        for index, verb in enumerate(verbs):
            rest = verbs[index + 1:]
            if verb.tag in ("Play", "Say"):
                heard.append(self._hear(verb, url))
            elif verb.tag == "Gather":
                heard.extend(self._hear(child, url) for child in verb if child.tag != "Pause")
                self._gather = Gather(verb.get("action") or url, verb.get("method", "POST"),
                                      rest, url, verb.get("finishOnKey", "#"),
                                      _seconds_attribute(verb))
                return None
            elif verb.tag == "Record":
                self._recorder = Recorder(verb.get("action") or url, rest, url,
                                          _absolute(url, verb.get("recordingStatusCallback")),
                                          _seconds_attribute(verb))
                return None
            elif verb.tag == "Redirect":
                return verb.get("method", "POST"), urljoin(url, (verb.text or "").strip()), {}
            elif verb.tag == "Enqueue":
                self.queued = Queued(action=urljoin(url, verb.get("action") or url),
                                     wait_url=urljoin(url, verb.get("waitUrl") or url),
                                     heard_before=len(self.heard) + len(heard))
                return "POST", self.queued.wait_url, {}
            elif verb.tag == "Leave":
                if self.queued is None:
                    raise CallFailed(f"<Leave> outside a queue from {url}")
                queued, self.queued = self.queued, None
                return "POST", queued.action, {"QueueResult": "leave",
                                               "QueueTime": str(queued.time)}
            elif verb.tag == "Dial":
                self._dial(verb, url)
                return None
            elif verb.tag == "Hangup":
                break
            elif verb.tag != "Pause":
                raise CallFailed(f"unexpected TwiML verb <{verb.tag}> from {url}")
        if self.queued is not None:
            return None  # the wait music ended: Twilio fetches it again as time passes
        self.hung_up = True
        return None

    def _dial(self, verb: ET.Element, url: str) -> None:
        queue = verb.find("Queue")
        if queue is None:
            raise CallFailed(f"only <Dial><Queue> is simulated, from {url}")
        self.dialing = DialingQueue((queue.text or "").strip(),
                                    urljoin(url, queue.get("url") or url),
                                    urljoin(url, verb.get("action") or url))

    def _hear(self, verb: ET.Element, url: str) -> Heard:
        if verb.tag == "Say":
            said, text = _language(verb.get("language", "en-US")), verb.text or ""
            return Heard("say", said, prompt=self.prompt_names.get((said, text)), text=text)
        media = urljoin(url, (verb.text or "").strip())
        path = urlsplit(media).path.split("/")
        lang, prompt = (path[-2], path[-1].rsplit(".", 1)[0]) if len(path) >= 3 else (None, None)
        if self.fetch_media:
            status, content_type, body = self.send("GET", media, {}, {})
            if status != 200 or not content_type.startswith("audio/") or not body:
                raise CallFailed(f"recording {media} did not download as audio ({status})")
        return Heard("play", lang, prompt=prompt, url=media)


class SaidPrompt(Protocol):
    """A prompt as a catalog holds it (ivr.menu.prompts.Prompt): its language, id and text."""

    @property
    def lang(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def text(self) -> str | None: ...


def prompt_names(prompts: Iterable[SaidPrompt]) -> dict[tuple[str, str], str]:
    """(language, text) → prompt id, from a catalog's prompts: a language spoken by Twilio's
    voice is heard as text, not as a recording's file name. Where two prompts say the same
    words ("one" is a digit and a number), the digit wins: a reference is read digit by
    digit."""
    names: dict[tuple[str, str], str] = {}
    for prompt in sorted(prompts, key=lambda prompt: not prompt.id.startswith("digit_")):
        if prompt.text:
            names.setdefault((prompt.lang, prompt.text), prompt.id)
    return names


def say_seconds(text: str) -> float:
    """How long Twilio's voice takes to say `text`, as issue 12 estimates it."""
    return len(text) / SAY_CHARACTERS_PER_SECOND


def seconds_heard(heard: Iterable[Heard], prompts_dir: Path) -> float:
    """How long listening to all of `heard` in full takes: each recording its WAV's length
    (the file under `prompts_dir` that the app serves), each <Say> estimated from its text.

    NotTimed names a recording whose length cannot be read."""
    return sum(_seconds_of(item, prompts_dir) for item in heard)


class NotTimed(ValueError):
    """A recording heard whose length cannot be read: missing, or not a WAV file."""


def recording_file(item: Heard, prompts_dir: Path) -> Path:
    """The file a <Play> of ours plays: /prompts/<lang>/<file name> under PROMPTS_DIR."""
    path = urlsplit(item.url or "").path.split("/")
    if item.lang is None or len(path) < 3 or not path[-1]:
        raise NotTimed(f"{item.url}: not a recording of the app's prompts")
    return prompts_dir / item.lang / path[-1]


def _seconds_of(item: Heard, prompts_dir: Path) -> float:
    if item.kind == "say":
        return say_seconds(item.text or "")
    path = recording_file(item, prompts_dir)
    try:
        stat = path.stat()
    except OSError as error:
        raise NotTimed(f"{path}: {error.strerror or type(error).__name__}") from None
    return _wav_seconds(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=1024)
def _wav_seconds(path: Path, _mtime_ns: int, _size: int) -> float:
    """The length of a WAV file (cached while the file stays the same)."""
    try:
        with wave.open(str(path), "rb") as audio:
            return audio.getnframes() / audio.getframerate()
    except (OSError, EOFError, wave.Error) as error:
        raise NotTimed(f"{path}: its length cannot be read as a WAV file's ({error})") from None


def _seconds_attribute(verb: ET.Element) -> int:
    raw = verb.get("timeout", "")
    return int(raw) if raw.isascii() and raw.isdigit() else TWILIO_TIMEOUT


def _absolute(base: str, url: str | None) -> str | None:
    return urljoin(base, url) if url else None


def _language(say_language: str) -> str:
    return say_language.split("-")[0]


def _twiml(status: int, content_type: str, body: bytes, url: str) -> ET.Element:
    if status != 200:
        raise CallFailed(f"{url} answered HTTP {status}")
    if content_type.split(";")[0].strip() not in ("text/xml", "application/xml"):
        raise CallFailed(f"{url} answered {content_type!r}, not TwiML")
    try:
        document = ET.fromstring(body)  # noqa: S314 - our own app's answer, in a test tool
    except ET.ParseError as error:
        raise CallFailed(f"{url} answered XML that does not parse: {error}") from None
    if document.tag != "Response":
        raise CallFailed(f"{url} answered <{document.tag}>, not <Response>")
    return document
