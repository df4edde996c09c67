"""The app with parts of every webhook switched off, for `python -m bench.webhooks --without`:
what a part costs under gunicorn is the difference it makes there, measured beside the empty
Flask app (or an earlier revision) as `make bench` measures the whole app. Only for
measuring: a hotline served this way keeps no call log or no log of its webhooks.

    IVR_BENCH_WITHOUT=log,call-log gunicorn -c gunicorn.conf.py 'bench.without:served()'
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable

from flask import Flask

from ivr.services import Hotline

WITHOUT = "IVR_BENCH_WITHOUT"
PARTS = {
    "log": "the JSON line each webhook logs (its warnings and errors are still logged)",
    "call-log": "the call log: no leg or step is written to the database",
}


def parts_named(names: str) -> set[str]:
    """The parts in a comma-separated list; a name we do not know is an error."""
    parts = {name.strip() for name in names.split(",") if name.strip()}
    unknown = sorted(parts - set(PARTS))
    if unknown:
        raise ValueError(f"no part called {', '.join(unknown)}: the parts are "
                         f"{', '.join(PARTS)}")
    return parts


def switched_off(app: Flask, parts: Iterable[str]) -> Flask:
    """`app` with `parts` switched off, in this process and the workers it forks."""
    parts = set(parts)
    if "log" in parts:
        logging.getLogger("ivr.voice").setLevel(logging.WARNING)
    if "call-log" in parts:
        hotline: Hotline = app.extensions["ivr"]
        hotline.call_log.record = _discard  # type: ignore[method-assign]
    return app


def _discard(*_entries: object) -> None:
    return None


def served() -> Flask:
    """gunicorn's app factory: the app as `wsgi` builds it, with the parts IVR_BENCH_WITHOUT
    names switched off."""
    from wsgi import app

    try:
        parts = parts_named(os.environ.get(WITHOUT, ""))
    except ValueError as error:
        print(f"bench.without: {error}", file=sys.stderr)
        sys.exit(1)
    return switched_off(app, parts)
