"""A phone that calls the app the way Twilio would: signed requests, following the TwiML.

It is how the tests play a caller's story, and how an engineer tries a menu change before a
real caller does. It records what the caller would hear, prompt by prompt.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from twilio.request_validator import RequestValidator

# send(method, url, params, headers) -> (status, content type, body)
Send = Callable[[str, str, dict[str, str], dict[str, str]], tuple[int, str, bytes]]
MAX_REDIRECTS = 25


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


@dataclass
class Phone:
    send: Send
    auth_token: str
    base_url: str
    caller: str = "+79161234567"
    hotline: str = "+15005550006"
    account_sid: str = "AC" + "0" * 32
    call_sid: str = field(default_factory=lambda: "CA" + secrets.token_hex(16))
    fetch_media: bool = False
    heard: list[Heard] = field(default_factory=list)
    hung_up: bool = False
    _gather: Gather | None = None
    _status: str = "ringing"

    def dial(self, path: str = "/voice/incoming") -> list[Heard]:
        return self._follow(("POST", self.base_url + path), [])

    def press(self, key: str) -> list[Heard]:
        gather = self._waiting()
        return self._follow((gather.method, urljoin(gather.url, gather.action)), [],
                            {"Digits": key})

    def wait(self) -> list[Heard]:
        """Say nothing until the menu gives up waiting."""
        gather = self._waiting()
        heard: list[Heard] = []
        return self._follow(self._run(gather.rest, gather.url, heard), heard)

    def hang_up(self, status: str = "completed", duration: int = 30,
                sequence: int = 0) -> tuple[int, bytes]:
        self.hung_up = True
        return self.status_callback(status, CallDuration=str(duration),
                                    SequenceNumber=str(sequence))

    def status_callback(self, status: str, **extra: str) -> tuple[int, bytes]:
        params = {**self.params(), "CallStatus": status, **extra}
        code, _, body = self.send("POST", self.base_url + "/voice/status", params,
                                  self.signed(self.base_url + "/voice/status", params))
        return code, body

    @property
    def listening(self) -> bool:
        return self._gather is not None

    def params(self) -> dict[str, str]:
        params = {"CallSid": self.call_sid, "AccountSid": self.account_sid, "From": self.caller,
                  "To": self.hotline, "Caller": self.caller, "Called": self.hotline,
                  "CallStatus": self._status, "Direction": "inbound", "ApiVersion": "2010-04-01"}
        self._status = "in-progress"
        return params

    def signed(self, url: str, params: dict[str, str]) -> dict[str, str]:
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        return {"X-Twilio-Signature": signature}

    def _waiting(self) -> Gather:
        if self.hung_up or self._gather is None:
            raise CallFailed("the call is not waiting for the caller")
        gather, self._gather = self._gather, None
        return gather

    def _follow(self, redirect: tuple[str, str] | None, heard: list[Heard],
                extra: dict[str, str] | None = None) -> list[Heard]:
        """Request each URL the TwiML sends the call to, until it waits for a key or ends."""
        for _ in range(MAX_REDIRECTS):
            if redirect is None:
                self.heard.extend(heard)
                return heard
            method, url = redirect
            params = {**self.params(), **(extra or {})}
            extra = None
            status, content_type, body = self.send(method, url, params, self.signed(url, params))
            redirect = self._run(list(_twiml(status, content_type, body, url)), url, heard)
        raise CallFailed(f"more than {MAX_REDIRECTS} redirects in a row")

    def _run(self, verbs: list[ET.Element], url: str,
             heard: list[Heard]) -> tuple[str, str] | None:
        """Play the verbs; return where a <Redirect> goes, or None when the call waits or ends."""
        for index, verb in enumerate(verbs):
            if verb.tag in ("Play", "Say"):
                heard.append(self._hear(verb, url))
            elif verb.tag == "Gather":
                heard.extend(self._hear(child, url) for child in verb if child.tag != "Pause")
                self._gather = Gather(verb.get("action") or url, verb.get("method", "POST"),
                                      verbs[index + 1:], url)
                return None
            elif verb.tag == "Redirect":
                return verb.get("method", "POST"), urljoin(url, (verb.text or "").strip())
            elif verb.tag == "Hangup":
                break
            elif verb.tag != "Pause":
                raise CallFailed(f"unexpected TwiML verb <{verb.tag}> from {url}")
        self.hung_up = True
        return None

    def _hear(self, verb: ET.Element, url: str) -> Heard:
        if verb.tag == "Say":
            return Heard("say", _language(verb.get("language", "en-US")), text=verb.text or "")
        media = urljoin(url, (verb.text or "").strip())
        path = urlsplit(media).path.split("/")
        lang, prompt = (path[-2], path[-1].rsplit(".", 1)[0]) if len(path) >= 3 else (None, None)
        if self.fetch_media:
            status, content_type, body = self.send("GET", media, {}, {})
            if status != 200 or not content_type.startswith("audio/") or not body:
                raise CallFailed(f"recording {media} did not download as audio ({status})")
        return Heard("play", lang, prompt=prompt, url=media)


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
