"""Flask's request, with look-ups of absent parameters made cheap.

werkzeug's `MultiDict.get` finds an absent key by catching the `BadRequestKeyError` its
`[]` raises, and building that exception costs more than the rest of the look-up. A webhook
asks for several parameters Twilio did not send (`Digits`, `ParentCallSid`, our own `lang` on
a call's first step), on every request; here an absent key is answered before any exception.
"""

from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict


class Parameters(ImmutableMultiDict[str, str]):
    """A query string's or a form's parameters, as werkzeug reads them."""

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # type: ignore[override]
        if key not in self:
            return default
        return super().get(key, default, type)


class WebRequest(Request):
    parameter_storage_class = Parameters
