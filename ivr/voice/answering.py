"""The promise that a caller never hears an application error.

A voice webhook is a view that returns a Plan. Wrapped here, it is answered only when Twilio
signed the request, and always with TwiML: if the view fails, its recovery answers (by
default an apology in the caller's language and the same step again); if that fails too, a
plain apology; if even rendering fails, a fixed goodbye in every language we ship.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from functools import wraps
from urllib.parse import parse_qsl, urlsplit

from flask import Response, g, request
from twilio.twiml.voice_response import VoiceResponse

from ivr import paths
from ivr.menu import journey
from ivr.menu.plans import Plan, Redirect, Target
from ivr.operations import logs, metrics
from ivr.services import Hotline, current_hotline
from ivr.twilio.webhook_request import CallParams, call_params, refuse_unless_signed, url_base

log = logging.getLogger("ivr.voice")
TWIML = "text/xml"

VoiceView = Callable[[Hotline, CallParams], Plan]
StatusView = Callable[[Hotline, CallParams], Response]

# Webhooks whose place is a menu node: after an error the caller hears that node again.
MENU_STEPS = (paths.INCOMING, paths.MENU, paths.MENU_INPUT, paths.FALLBACK)
# The operator's own leg: on an error it ends, and the caller waits on for another operator.
OPERATOR_LEG = (paths.OPERATOR_ANSWER, paths.OPERATOR_ACCEPT, paths.OPERATOR_DONE)


def step_to_retry(path: str, params: Iterable[tuple[str, str]]) -> Target | None:
    """The webhook to ask again after an error, when it is not a menu node (a callback
    request's question, the queue): the same path and parameters. A question's answer is not
    re-posted as if it were a silence: the question is asked again (`again`)."""
    if path in MENU_STEPS or path in OPERATOR_LEG or not path.startswith("/voice/"):
        return None
    kept = tuple((name, value) for name, value in params if name != "again")[:31]
    if path == paths.CALLBACK_REQUEST_INPUT:
        kept += (("again", "1"),)
    return Target(path, kept)


def apologise(hotline: Hotline, call: CallParams) -> Plan:
    """The usual recovery: sorry, and the same step again (a few times at most)."""
    where = journey.where_from(hotline.menu, request.args)
    step = step_to_retry(request.path, request.args.items(multi=True))
    return journey.apologise(hotline.menu, where, call.calling_code, step)


def voice_webhook(view: VoiceView) -> Callable[[], Response]:
    """A signed webhook that answers TwiML, whatever happens inside `view`."""
    return voice_webhook_recovering(apologise)(view)


def voice_webhook_recovering(recover: VoiceView) -> Callable[[VoiceView], Callable[[], Response]]:
    """As voice_webhook, for a webhook that, when something inside fails, answers with
    `recover` instead of the apology (the queue's music, an operator's hang-up)."""
    return lambda view: _answering_twiml(view, recover)


def _answering_twiml(view: VoiceView, recover: VoiceView) -> Callable[[], Response]:
    @wraps(view)
    def handle() -> Response:
        started = time.perf_counter()
        hotline = current_hotline()
        refused = refuse_unless_signed(hotline)
        if refused is not None:
            return refused
        call = call_params()
        plan = _decide(hotline, call, view, recover)
        body = _render(hotline, call, plan)
        args = request.args
        lang = plan.language or _language_in_url(hotline, call, args)
        metrics.count_outcome(lang, plan.outcome)
        node = args.get("node")
        logs.info_fields(log, "webhook", {
            "path": request.path, "call_sid": call.call_sid,
            "node": node if node in hotline.menu.nodes else None,
            "lang": lang, "outcome": plan.outcome,
            "ms": round((time.perf_counter() - started) * 1000, 2), **g.pop(_LOGGED, {})})
        return Response(body, mimetype=TWIML)

    return handle


_LOGGED = "webhook_log_fields"


def log_with_webhook(**fields: object) -> None:
    """Fields for this webhook's log line (the caller's number, masked, on a call's first):
    one line per webhook, which under load is most of what logging costs."""
    g.setdefault(_LOGGED, {}).update(fields)


def _decide(hotline: Hotline, call: CallParams, view: VoiceView, recover: VoiceView) -> Plan:
    """The view's plan, or, if anything in it fails, the recovery's."""
    try:
        return view(hotline, call)
    except Exception:
        log.exception("webhook failed", extra={"path": request.path, "call_sid": call.call_sid})
    try:
        return recover(hotline, call)
    except Exception:
        log.exception("recovery failed", extra={"path": request.path, "call_sid": call.call_sid})
    menu = hotline.menu
    return journey.apologise(menu, journey.Where(menu.start), call.calling_code)


def _render(hotline: Hotline, call: CallParams, plan: Plan) -> str:
    try:
        return hotline.renderer.render(plan, url_base(hotline))
    except Exception:
        log.exception("rendering failed", extra={"path": request.path, "call_sid": call.call_sid})
        return LAST_RESORT


def followed_at_once(call: CallParams, plan: Plan, path: str,
                     answer: Callable[[Target], Plan]) -> Plan:
    """A plan that ends by sending the caller to `path` (a redirect) answers with what that
    webhook would have, `answer(target)`, instead: Twilio would otherwise come back for it, a
    round trip of the caller's time and a webhook of ours. Should `answer` fail, the redirect
    stays and Twilio follows it, to a webhook that answers or apologises as usual."""
    redirect = plan.steps[-1] if plan.steps else None
    if not (isinstance(redirect, Redirect) and redirect.to.path == path):
        return plan
    try:
        then = answer(redirect.to)
    except Exception:
        log.exception("redirect not followed at once: Twilio follows it",
                      extra={"path": path, "call_sid": call.call_sid})
        return plan
    # Counted as if Twilio had come back for it: the outcomes' figures do not change meaning.
    metrics.count_outcome(then.language or redirect.to.param("lang"), then.outcome)
    return Plan(plan.steps[:-1] + then.steps, plan.outcome, plan.language,
                private=plan.private or then.private)


def _language_in_url(hotline: Hotline, call: CallParams, args: Mapping[str, str]) -> str | None:
    """The caller's language as our URL tells it (for Twilio's fallback, the failed URL's),
    for the log and the metrics."""
    lang = args.get("lang") or query_of(call.params.get("ErrorUrl", "")).get("lang")
    return lang if lang in hotline.menu.languages else None


def query_of(url: str) -> dict[str, str]:
    try:
        return dict(parse_qsl(urlsplit(url).query))
    except ValueError:
        return {}


def status_webhook(view: StatusView) -> Callable[[], Response]:
    """A signed webhook nobody hears (status callbacks): errors are logged, never retried."""

    @wraps(view)
    def handle() -> Response:
        hotline = current_hotline()
        refused = refuse_unless_signed(hotline)
        if refused is not None:
            return refused
        call = call_params()
        try:
            return view(hotline, call)
        except Exception:
            log.exception("webhook failed", extra={"path": request.path, "call_sid": call.call_sid})
            return Response(str(VoiceResponse()), mimetype=TWIML)

    return handle


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
