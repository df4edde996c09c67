"""A request from Twilio: whether Twilio really signed it, and its parameters, read
defensively. The one module that reads Twilio's webhook parameters and checks signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload
from urllib.parse import quote

from flask import Request, Response, request
from werkzeug.datastructures import MultiDict

from ivr import phones
from ivr.menu.menu_file import KEYS
from ivr.operations import metrics
from ivr.twilio.call_status import STATUS_RANK

if TYPE_CHECKING:
    from ivr.services import Hotline

log = logging.getLogger("ivr.voice")

SID = re.compile(r"[A-Z]{2}[0-9a-f]{32}")
T = TypeVar("T")


class _once(Generic[T]):
    """A property worked out on first use and kept on the instance, as functools'
    cached_property but without its lock: a webhook's parameters belong to its one thread,
    and five look-ups under a lock were a measurable part of every webhook."""

    def __init__(self, function: Callable[[Any], T]) -> None:
        self.function = function
        self.name = function.__name__

    @overload
    def __get__(self, instance: None, owner: type) -> _once[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object, owner: type) -> T | _once[T]:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.function(instance)
        return value


class CallParams:
    """The parameters Twilio sent about the call, read defensively: anything malformed
    reads as absent."""

    def __init__(self, params: MultiDict[str, str], idempotency_token: str | None,
                 url_language: str | None = None) -> None:
        self.params = params
        self.idempotency_token = (idempotency_token or "")[:80] or None
        # The language our own URL carried (`lang`): the call's language before this step.
        self.url_language = url_language

    def _sid(self, name: str) -> str | None:
        value = self.params.get(name, "")
        return value if SID.fullmatch(value) else None

    @_once
    def call_sid(self) -> str | None:
        return self._sid("CallSid")

    @_once
    def parent_call_sid(self) -> str | None:
        return self._sid("ParentCallSid")

    @_once
    def direction(self) -> str:
        direction = self.params.get("Direction", "")
        return direction if direction in ("inbound", "outbound-api", "outbound-dial") else "inbound"

    @_once
    def from_number(self) -> str | None:
        return phones.normalise(self.params.get("From"))

    # `From` and `To` as Twilio sent them (a withheld ID too), for the call log, which parses
    # them. Cut one past what a number may be, so what was too long still is.
    @property
    def sent_from(self) -> str | None:
        return self.params.get("From", "")[:phones.LONGEST_RAW + 1] or None

    @property
    def sent_to(self) -> str | None:
        return self.params.get("To", "")[:phones.LONGEST_RAW + 1] or None

    @_once
    def calling_code(self) -> str | None:
        return phones.calling_code(self.params.get("From"))

    @_once
    def status(self) -> str | None:
        status = self.params.get("CallStatus", "")
        return status if status in STATUS_RANK else None

    @_once
    def digits(self) -> str | None:
        """The key pressed; any other non-empty input reads as a key no menu has."""
        digits = self.params.get("Digits", "")
        if not digits:
            return None
        return digits if digits in KEYS else "?"

    def keys(self) -> str | None:
        """The keys pressed, as typed: a number may be up to 15 digits."""
        typed = "".join(char for char in self.params.get("Digits", "")[:32]
                        if char in "0123456789*#")
        return typed or None

    def integer(self, name: str) -> int | None:
        value = self.params.get(name, "")
        return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else None

    def text(self, name: str, limit: int = 32) -> str:
        return self.params.get(name, "")[:limit]


def call_params() -> CallParams:
    asked = _request()
    args = asked.args
    params = asked.form if asked.method == "POST" else args
    return CallParams(params, _header(asked, "I_TWILIO_IDEMPOTENCY_TOKEN"), args.get("lang"))


def _header(asked: Request, name: str) -> str | None:
    """A request header, `name` upper-cased with underscores, read from the WSGI request as
    werkzeug's headers read it, without building them (an absent one costs them an
    exception, on every webhook)."""
    variables = asked.environ  # the WSGI request's, not settings
    value: str | None = variables.get(f"HTTP_{name}")
    return value


def _request() -> Request:
    """This request itself rather than Flask's proxy to it, which looks it up again at each
    use: the functions here use it a dozen times a webhook."""
    return request._get_current_object()  # type: ignore[attr-defined, no-any-return]


def signed_url(hotline: Hotline, asked: Request | None = None) -> str:
    """The URL Twilio requested, as it signed it: behind a proxy, the public one."""
    asked = asked or _request()
    base = hotline.settings.public_base_url or asked.root_url.rstrip("/")
    url = base + quote(asked.path)
    query = asked.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


def is_signed(hotline: Hotline) -> bool:
    asked = _request()
    signature = _header(asked, "X_TWILIO_SIGNATURE") or ""
    if not signature:
        return False
    params = asked.form if asked.method == "POST" else {}
    url = signed_url(hotline, asked)
    # The URL exactly as we see it matches almost always; only then try Twilio's variants
    # with and without the port, which cost two more signatures.
    if hmac.compare_digest(_signature(hotline.validator.token, url, params),
                           signature.encode()):
        return True
    return bool(hotline.validator.validate(url, params, signature))


def _signature(token: bytes, url: str, params: MultiDict[str, str] | dict[str, str]) -> bytes:
    """Twilio's HMAC-SHA1 signature of a request, as RequestValidator.compute_signature makes
    it (the URL, then each parameter's name and distinct values, sorted), in one pass: it is
    computed for every webhook. The (name, value) pairs sorted and without repeats are in that
    order. Not with hmac.digest, whose one-shot call lets go of the interpreter lock for a
    microsecond's work: the call log's writer thread takes it, and the webhook waits for it
    back (25 µs a webhook measured in one process); a copy of an HMAC already keyed costs less
    than keying one for every webhook."""
    pairs = params.items(multi=True) if isinstance(params, MultiDict) else params.items()
    data = url + "".join(name + value for name, value in sorted(set(pairs)))
    mac = _keyed(token).copy()
    mac.update(data.encode())
    return base64.b64encode(mac.digest())


@lru_cache(maxsize=4)
def _keyed(token: bytes) -> hmac.HMAC:
    return hmac.new(token, digestmod=hashlib.sha1)


def refuse_unless_signed(hotline: Hotline) -> Response | None:
    """None for a request Twilio signed; else the 403 to answer with."""
    try:
        if is_signed(hotline):
            return None
    except Exception:
        log.exception("signature check failed", extra={"path": request.path})
    reason = "signed wrongly" if _header(_request(), "X_TWILIO_SIGNATURE") else "not signed"
    metrics.count_forged(request.url_rule.rule if request.url_rule else metrics.OTHER)
    # Nothing from the request body: a forged request may still carry a real number.
    log.warning("webhook refused", extra={"path": request.path, "reason": reason})
    return Response("Forbidden: this request is not signed by Twilio.\n", 403,
                    mimetype="text/plain")


def url_base(hotline: Hotline) -> str:
    """What our TwiML's URLs start with: the public base, or this app's root path."""
    return hotline.settings.public_base_url or request.script_root


def public_root(hotline: Hotline) -> str:
    """The absolute URL of the app's root, for URLs handed to Twilio's REST API."""
    return hotline.settings.public_base_url or request.host_url.rstrip("/")
