"""`ivr call simulate`: a scripted call against a running app, the way Twilio would make it.

It signs each request with the auth token, follows the TwiML with the simulator's `Phone`,
and reports what the caller would hear after each thing they do, with each webhook's latency.
It is a real call as far as the app knows: it is logged, and a callback request left in it
is a real request (the command closes it afterwards). It can also pick up, as the operator's
phone, a ring the app placed for the caller waiting in the queue.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlencode, urlsplit

from ivr import paths
from ivr.menu.menu_file import Menu
from ivr.twilio.phone_simulator import Heard, Phone, Send

TIMEOUT = 15.0  # what Twilio gives a webhook
# In Ofcom's range for drama (020 7946 0xxx): a valid number that is nobody's.
FICTIONAL_CALLER = "+442079460123"
WITHHELD = "anonymous"
SILENCE = "-"  # a step of --press: the caller says nothing and Twilio's timeout runs out
MESSAGE_END = "#"  # while the call records: the end of the caller's message
MESSAGE_SECONDS = 5
LONG_VALUE = re.compile(r"=([^&]{12})[^&]{8,}")


class TrialCallError(Exception):
    """The script cannot be played: one line saying why."""


@dataclass(frozen=True)
class Hop:
    """One request the phone made, and how long the app took to answer it."""

    method: str
    path: str
    status: int
    ms: float

    def __str__(self) -> str:
        # Sealed values (the capture's state) are long and mean nothing to a reader.
        path = LONG_VALUE.sub(r"=\1…", self.path)
        return f"{self.method} {path} → {self.status} in {self.ms:.1f} ms"


@dataclass
class Step:
    action: str
    hops: list[Hop] = field(default_factory=list)
    heard: list[Heard] = field(default_factory=list)
    who: str = "caller"  # whose phone heard it: the caller's or the operator's


def http_send(hops: list[Hop], public_url: str, target_url: str) -> Send:
    """Real HTTP, timed: each request is noted in `hops`.

    Requests are signed for `public_url` (the URL the app checks signatures against, and
    writes into its TwiML) but sent to `target_url`, so a service behind a proxy can be
    called directly on its own machine.
    """

    def send(method: str, url: str, params: dict[str, str],
             headers: dict[str, str]) -> tuple[int, str, bytes]:
        if url.startswith(public_url + "/"):
            url = target_url + url[len(public_url):]
        data = urlencode(params).encode() if method == "POST" else None
        request = urllib.request.Request(url, data=data, headers=headers,  # noqa: S310
                                         method=method)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
                status, content_type, body = (response.status,
                                              response.headers.get("Content-Type", ""),
                                              response.read())
        except urllib.error.HTTPError as error:
            status, content_type, body = error.code, error.headers.get("Content-Type", ""), b""
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise TrialCallError(f"cannot reach {url}: {reason}") from None
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        hops.append(Hop(method, path, status, (time.perf_counter() - started) * 1000))
        return status, content_type, body

    return send


def check_base_url(url: str) -> str:
    """The app's base URL (`--url`), or TrialCallError saying what is wrong with it."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018 (it raises ValueError for a port that is not a number)
    except ValueError:
        problem: str | None = "its port is not a number from 0 to 65535"
    else:
        problem = _base_url_problem(parts.scheme, parts.hostname, parts.query + parts.fragment)
    if problem is not None:
        raise TrialCallError(f"--url {url!r}: {problem}; give the app's base URL, "
                             "like http://localhost:8000")
    return url


def _base_url_problem(scheme: str, host: str | None, rest: str) -> str | None:
    if not scheme:
        return "not a URL"
    if scheme not in ("http", "https"):
        return f"{scheme}:// is not http:// or https://"
    if not host:
        return "no host"
    if rest:
        return "a base URL has no query or fragment"
    return None


def parse_keys(raw: str) -> list[str]:
    """`1,2,1` → ["1", "2", "1"]; a step may be several keys (a number and #), or `-`: the
    caller stays silent."""
    keys = [key.strip() for key in raw.split(",")] if raw.strip() else []
    for key in keys:
        if key != SILENCE and (not key or any(char not in "0123456789*#" for char in key)):
            raise TrialCallError(f"--press {raw!r}: give keys separated by commas, like 1,2,1 "
                                 f"({SILENCE} for silence, # ends a message)")
    return keys


def language_key(menu: Menu, lang: str) -> str:
    """The key that chooses `lang` at the language menu."""
    for option in menu.node(menu.start).options:
        if option.goto == lang:
            return option.key
    raise TrialCallError(f"--lang {lang}: the language menu offers no such language")


def saved_reference(heard: Sequence[Heard]) -> tuple[str, int] | None:
    """The request's number read out digit by digit after "saved" (`callback_saved`), and
    where in `heard` it ends; None if the caller heard no such thing."""
    for index, item in enumerate(heard):
        if item.prompt != "callback_saved":
            continue
        end = index + 1
        while end < len(heard) and (heard[end].prompt or "").startswith("digit_"):
            end += 1
        if end > index + 1:
            digits = [(said.prompt or "").removeprefix("digit_") for said in heard[index + 1:end]]
            return "".join(digits), end
    return None


@dataclass(frozen=True)
class OperatorRing:
    """A ring the app placed to an operator's phone, which the trial picks up as Twilio would
    deliver it: the leg's CallSid is the one Twilio gave the ring."""

    ring_id: int
    call_sid: str
    operator_number: str


class TrialCall:
    """One call to the app at `target_url`, played step by step; each step says what the
    caller (or the operator) heard and which webhooks it took.

    `public_url`: the app's PUBLIC_BASE_URL, if it has one (requests are signed for it)."""

    def __init__(self, target_url: str, public_url: str | None, auth_token: str,
                 caller: str, names: Mapping[tuple[str, str], str] | None = None) -> None:
        self.hops: list[Hop] = []
        target_url = target_url.rstrip("/")
        self.public_url = (public_url or target_url).rstrip("/")
        self.send = http_send(self.hops, self.public_url, target_url)
        self.auth_token = auth_token
        self.phone = Phone(send=self.send, auth_token=auth_token, base_url=self.public_url,
                           caller=caller, prompt_names=names or {})

    def dial(self) -> Step:
        return self._step("dial", self.phone.dial)

    def play(self, keys: list[str]) -> Iterator[Step]:
        """Each step of the script in turn; once the call stops taking them, what is left."""
        for index, key in enumerate(keys):
            step = self.act(key)
            if step is None:
                yield Step(f"not pressed: {','.join(keys[index:])} (the call "
                           f"{self._not_waiting()})")
                return
            yield step

    def act(self, key: str) -> Step | None:
        """One step: keys, `#` ending a message, or silence; None if the call cannot take it."""
        phone = self.phone
        if phone.hung_up:
            return None
        if key == SILENCE and (phone.listening or phone.recording or phone.queued):
            waits = phone.waiting_for
            said = f" (Twilio waits {waits} s)" if waits else " (another round of the music)"
            return self._step(f"silence{said}", phone.wait)
        if key == MESSAGE_END and phone.recording:
            return self._step(f"press # (after a {MESSAGE_SECONDS} s message)", self._message)
        if key != SILENCE and phone.listening:
            return self._step(f"press {key}", partial(phone.press, key))
        return None

    def end(self) -> Step:
        """The call ends, as Twilio's status callback says: the caller hangs up, or the app
        ended the call."""
        if self.phone.hung_up:
            return self._step("the app ended the call (Twilio's status callback)",
                              partial(self._status, self.phone, "completed"))
        return self._step("hang up", partial(_hang_up, self.phone))

    def operator_answers(self, ring: OperatorRing, hotline_number: str,
                         accept_key: str) -> Iterator[Step]:
        """The operator's phone picks up the ring, presses the accept key, and is put through
        to the caller waiting in the queue; then the two talk, and both legs end."""
        operator = Phone(send=self.send, auth_token=self.auth_token, base_url=self.public_url,
                         caller=hotline_number, hotline=ring.operator_number,
                         call_sid=ring.call_sid, direction="outbound-api")
        query = f"?ring={ring.ring_id}"
        yield self._step("operator picks up", partial(
            operator.answer, self.public_url + paths.OPERATOR_ANSWER + query), who="operator")
        if not operator.listening:
            return
        yield self._step(f"operator presses {accept_key}", partial(operator.press, accept_key),
                         who="operator")
        if operator.dialing is None or self.phone.queued is None:
            return
        yield self._step("operator is put through", partial(self.phone.put_through, operator))
        yield self._step("the conversation ends", partial(self._conversation_ends, operator))
        yield self._step("operator's leg ends (Twilio's status callback)", partial(
            self._status, operator, "completed",
            self.public_url + paths.OPERATOR_STATUS + query), who="operator")

    def _conversation_ends(self, operator: Phone) -> list[Heard]:
        caller_heard, _ = self.phone.conversation_ends(operator)
        return caller_heard

    def _message(self) -> list[Heard]:
        heard = self.phone.record(MESSAGE_SECONDS)
        self.phone.recording_ready()  # as Twilio does once the recording is ready
        return heard

    def _status(self, phone: Phone, status: str, url: str | None = None) -> list[Heard]:
        phone.post(url or self.public_url + paths.STATUS, {"CallStatus": status})
        return []

    def _not_waiting(self) -> str:
        return "records a message" if self.phone.recording else "is not waiting for a key"

    def _step(self, action: str, act: Callable[[], list[Heard]], who: str = "caller") -> Step:
        self.hops.clear()
        heard = act()
        return Step(action, list(self.hops), list(heard), who)


def _hang_up(phone: Phone) -> list[Heard]:
    phone.hang_up()
    return []
