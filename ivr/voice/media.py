"""Recorded prompts, fetched by Twilio for <Play>.

Twilio fetches media with a plain GET and no signature, so these are public; they hold no
caller data. URLs carry a digest of the file (`?v=`), so a copy may be kept for a long time
and a changed recording still reaches callers at once.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, request, send_file

from ivr.menu.prompts import AUDIO_TYPES
from ivr.services import current_hotline

bp = Blueprint("prompts", __name__, url_prefix="/prompts")
LONG = 365 * 24 * 3600


@bp.get("/<lang>/<file_name>")
def recording(lang: str, file_name: str) -> Response:
    catalog = current_hotline().catalog
    path = catalog.recording_path(lang, file_name)
    if path is None:
        abort(404)
    prompt = catalog.get(lang, path.stem)
    versioned = request.args.get("v") == prompt.version
    # send_file marks its answer no-cache unless given a max_age above 0. A versioned URL
    # never changes its bytes, so Twilio's proxies may keep it for a year without asking.
    response = send_file(path, mimetype=AUDIO_TYPES[path.suffix], conditional=True, etag=True,
                         max_age=LONG if versioned else 0)
    if versioned:
        response.cache_control.immutable = True
    else:  # asked again every time (a 304 when unchanged), with no lifetime to misread
        response.cache_control.max_age = None
        response.headers.pop("Expires", None)
    return response
