"""The floor: a WSGI app that answers every request with the same TwiML and does nothing
else. Served by gunicorn with our settings, it is the most any webhook could do here."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/voice/menu/input?'
    b'node=language&amp;try=1" actionOnEmptyResult="false" finishOnKey="" input="dtmf" '
    b'method="POST" numDigits="1" timeout="5"><Play>/prompts/ru/language_option.wav?v=0000000000'
    b'</Play><Play>/prompts/uk/language_option.wav?v=0000000000</Play><Play>/prompts/en/'
    b'language_option.wav?v=0000000000</Play></Gather><Redirect method="POST">/voice/menu/'
    b'input?node=language&amp;try=1</Redirect></Response>'
)
HEADERS = [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(BODY)))]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    environ["wsgi.input"].read()
    start_response("200 OK", HEADERS)
    return [BODY]
