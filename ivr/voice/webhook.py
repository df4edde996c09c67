"""What every Twilio webhook shares: the signature check, the call's parameters, and the
promise that the caller never hears an application error."""

from __future__ import annotations

import hmac
import logging
import re
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cached_property, wraps
from urllib.parse import quote

from flask import Response, request
from twilio.twiml.voice_response import VoiceResponse
from werkzeug.datastructures import MultiDict

from ivr import flow, metrics, paths, phones
from ivr.calllog import STATUS_RANK
from ivr.flow import Where
from ivr.hotline import Hotline, current_hotline
from ivr.menu import KEYS
from ivr.plans import Plan, Target

log = logging.getLogger("ivr.voice")

SID = re.compile(r"[A-Z]{2}[0-9a-f]{32}")
TWIML = "text/xml"


class CallParams:
    """The parameters Twilio sent about the call, read defensively: anything malformed
    reads as absent."""

    def __init__(self, params: MultiDict[str, str], idempotency_token: str | None) -> None:
        self.params = params
        self.idempotency_token = (idempotency_token or "")[:80] or None

    def _sid(self, name: str) -> str | None:
        value = self.params.get(name, "")
        return value if SID.fullmatch(value) else None

    @cached_property
    def call_sid(self) -> str | None:
        return self._sid("CallSid")

    @cached_property
    def parent_call_sid(self) -> str | None:
        return self._sid("ParentCallSid")

    @cached_property
    def direction(self) -> str:
        direction = self.params.get("Direction", "")
        return direction if direction in ("inbound", "outbound-api", "outbound-dial") else "inbound"

    @cached_property
    def from_number(self) -> str | None:
        return phones.normalise(self.params.get("From"))

    @cached_property
    def to_number(self) -> str | None:
        return phones.normalise(self.params.get("To"))

    @cached_property
    def calling_code(self) -> str | None:
        return phones.calling_code(self.params.get("From"))

    @cached_property
    def status(self) -> str | None:
        status = self.params.get("CallStatus", "")
        return status if status in STATUS_RANK else None

    @cached_property
    def digits(self) -> str | None:
        """The key pressed; any other non-empty input reads as a key no menu has."""
        digits = self.params.get("Digits", "")
        if not digits:
            return None
        return digits if digits in KEYS else "?"

    def integer(self, name: str) -> int | None:
        value = self.params.get(name, "")
        return int(value) if value.isdigit() and len(value) < 10 else None


def signed_url(hotline: Hotline) -> str:
    """The URL Twilio requested, as it signed it: behind a proxy, the public one."""
    base = hotline.settings.public_base_url or request.root_url.rstrip("/")
    url = base + quote(request.path)
    query = request.query_string.decode("latin-1")
    return f"{url}?{query}" if query else url


def is_signed(hotline: Hotline) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    params = request.form if request.method == "POST" else {}
    url = signed_url(hotline)
    # The URL exactly as we see it matches almost always; only then try Twilio's variants
    # with and without the port, which cost two more signatures.
    expected = hotline.validator.compute_signature(url, params)
    if hmac.compare_digest(expected.encode(), signature.encode()):
        return True
    return bool(hotline.validator.validate(url, params, signature))


def _refuse_unless_signed(hotline: Hotline) -> Response | None:
    try:
        if is_signed(hotline):
            return None
    except Exception:
        log.exception("signature check failed", extra={"path": request.path})
    reason = "signed wrongly" if request.headers.get("X-Twilio-Signature") else "not signed"
    metrics.count_forged(request.url_rule.rule if request.url_rule else metrics.OTHER)
    # Nothing from the request body: a forged request may still carry a real number.
    log.warning("webhook refused", extra={"path": request.path, "reason": reason})
    return Response("Forbidden: this request is not signed by Twilio.\n", 403,
                    mimetype="text/plain")


def call_params() -> CallParams:
    params = request.form if request.method == "POST" else request.args
    return CallParams(params, request.headers.get("I-Twilio-Idempotency-Token"))


def url_base(hotline: Hotline) -> str:
    return hotline.settings.public_base_url or request.script_root


VoiceView = Callable[[Hotline, CallParams, Where], Plan]
Locate = Callable[[Hotline, CallParams], Where]


def where_in_url(hotline: Hotline, _call: CallParams) -> Where:
    return flow.where_from(hotline.menu, request.args)


# Webhooks whose place is a menu node: after an error the caller hears that node again.
MENU_STEPS = (paths.INCOMING, paths.MENU, paths.MENU_INPUT, paths.FALLBACK)
# The operator's own leg: on an error it ends, and the caller waits on for another operator.
OPERATOR_LEG = (paths.OPERATOR_ANSWER, paths.OPERATOR_ACCEPT, paths.OPERATOR_DONE)


def step_to_retry(path: str, params: Iterable[tuple[str, str]]) -> Target | None:
    """The webhook to ask again after an error, when it is not a menu node (a callback
    request's question, the queue): the same path and parameters."""
    if path in MENU_STEPS or path in OPERATOR_LEG or not path.startswith("/voice/"):
        return None
    return Target(path, tuple(params)[:32])


def apologise(hotline: Hotline, call: CallParams, where: Where) -> Plan:
    step = step_to_retry(request.path, request.args.items(multi=True))
    return flow.apologise(hotline.menu, where, call.calling_code, step)


def voice_webhook(view: VoiceView) -> Callable[[], Response]:
    """A signed webhook that answers TwiML, whatever happens inside `view`."""
    return voice_webhook_at(where_in_url)(view)


def voice_webhook_at(locate: Locate, recover: VoiceView = apologise
                     ) -> Callable[[VoiceView], Callable[[], Response]]:
    """As voice_webhook, for a webhook that finds the caller's place with `locate` and, when
    something inside fails, answers with `recover` (by default: an apology and a retry)."""
    return lambda view: _answering_twiml(view, locate, recover)


def _answering_twiml(view: VoiceView, locate: Locate, recover: VoiceView
                     ) -> Callable[[], Response]:
    @wraps(view)
    def handle() -> Response:
        started = time.perf_counter()
        hotline = current_hotline()
        refused = _refuse_unless_signed(hotline)
        if refused is not None:
            return refused
        call = call_params()
        where, plan = _decide(hotline, call, view, locate, recover)
        body = _render(hotline, call, plan)
        metrics.count_outcome(plan.language or where.lang, plan.outcome)
        log.info("webhook", extra={
            "path": request.path, "call_sid": call.call_sid, "node": where.node,
            "lang": where.lang, "outcome": plan.outcome,
            "ms": round((time.perf_counter() - started) * 1000, 2)})
        return Response(body, mimetype=TWIML)

    return handle


def _decide(hotline: Hotline, call: CallParams, view: VoiceView, locate: Locate,
            recover: VoiceView) -> tuple[Where, Plan]:
    """The view's plan, or, if anything in it fails, an apology and a retry."""
    where = Where(hotline.menu.start)
    try:
        where = locate(hotline, call)
        return where, view(hotline, call, where)
    except Exception:
        log.exception("webhook failed", extra={"path": request.path, "call_sid": call.call_sid})
        try:
            return where, recover(hotline, call, where)
        except Exception:
            log.exception("recovery failed", extra={"path": request.path,
                                                    "call_sid": call.call_sid})
            return where, flow.apologise(hotline.menu, Where(hotline.menu.start),
                                         call.calling_code)


def _render(hotline: Hotline, call: CallParams, plan: Plan) -> str:
    try:
        return hotline.renderer.render(plan, url_base(hotline))
    except Exception:
        log.exception("rendering failed", extra={"path": request.path, "call_sid": call.call_sid})
        return LAST_RESORT


def signed_only(view: Callable[[Hotline, CallParams], Response]) -> Callable[[], Response]:
    """A signed webhook nobody hears (status callbacks): errors are logged, never retried."""

    @wraps(view)
    def handle() -> Response:
        hotline = current_hotline()
        refused = _refuse_unless_signed(hotline)
        if refused is not None:
            return refused
        call = call_params()
        try:
            return view(hotline, call)
        except Exception:
            log.exception("webhook failed", extra={"path": request.path, "call_sid": call.call_sid})
            return Response(str(VoiceResponse()), mimetype=TWIML)

    return handle


def now() -> datetime:
    return datetime.now(UTC)


def _last_resort() -> str:
    """Said when even the apology cannot be built: fixed text, in every language we ship."""
    response = VoiceResponse()
    response.say("Извините, техническая ошибка. Пожалуйста, перезвоните через несколько минут.",
                 language="ru-RU", voice="Polly.Tatyana")
    response.say("Вибачте, технічна помилка. Будь ласка, зателефонуйте за кілька хвилин.",
                 language="uk-UA", voice="Google.uk-UA-Standard-A")
    response.say("Sorry, we have a technical problem. Please call again in a few minutes.",
                 language="en-US", voice="Polly.Joanna")
    response.hangup()
    return str(response)


LAST_RESORT = _last_resort()
