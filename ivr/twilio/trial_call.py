"""`ivr call simulate`: a scripted call against a running app, the way Twilio would make it.

It signs each request with the auth token, follows the TwiML with the simulator's `Phone`,
and reports what the caller would hear after each thing they do, with each webhook's latency.
It is a real call as far as the app knows: it is logged, and a callback request left in it
is a real request.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlencode, urlsplit

from ivr.menu.menu_file import Menu
from ivr.twilio.phone_simulator import Heard, Phone, Send

TIMEOUT = 15.0  # what Twilio gives a webhook
# In Ofcom's range for drama (020 7946 0xxx): a valid number that is nobody's.
FICTIONAL_CALLER = "+442079460123"
WITHHELD = "anonymous"
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
    """`1,2,1` → ["1", "2", "1"]; a step may be several keys (a number and #)."""
    keys = [key.strip() for key in raw.split(",")] if raw.strip() else []
    for key in keys:
        if not key or any(char not in "0123456789*#" for char in key):
            raise TrialCallError(f"--press {raw!r}: give keys separated by commas, like 1,2,1")
    return keys


def language_key(menu: Menu, lang: str) -> str:
    """The key that chooses `lang` at the language menu."""
    for option in menu.node(menu.start).options:
        if option.goto == lang:
            return option.key
    raise TrialCallError(f"--lang {lang}: the language menu offers no such language")


def play(target_url: str, public_url: str | None, auth_token: str, keys: list[str],
         caller: str, hang_up: bool = True) -> Iterator[Step]:
    """Dial the app at `target_url`, then press each key; yield what happened after each.

    `public_url`: the app's PUBLIC_BASE_URL, if it has one.
    """
    hops: list[Hop] = []
    target_url = target_url.rstrip("/")
    public_url = (public_url or target_url).rstrip("/")
    phone = Phone(send=http_send(hops, public_url, target_url), auth_token=auth_token,
                  base_url=public_url, caller=caller)
    yield _step("dial", hops, phone.dial)
    for index, key in enumerate(keys):
        if not phone.listening:
            waiting = "records a message" if phone.recording else "is not waiting for a key"
            yield Step(f"not pressed: {','.join(keys[index:])} (the call {waiting})")
            break
        yield _step(f"press {key}", hops, partial(phone.press, key))
    if hang_up and not phone.hung_up:
        # So that the app's log shows the call ended, as Twilio's status callback would.
        yield _step("hang up", hops, partial(_hang_up, phone))


def _hang_up(phone: Phone) -> list[Heard]:
    phone.hang_up()
    return []


def _step(action: str, hops: list[Hop], act: Callable[[], list[Heard]]) -> Step:
    hops.clear()
    heard = act()
    return Step(action, list(hops), list(heard))
