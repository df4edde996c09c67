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
    response = send_file(path, mimetype=AUDIO_TYPES[path.suffix], conditional=True, etag=True,
                         max_age=0)
    prompt = catalog.get(lang, path.stem)
    if request.args.get("v") == prompt.version:
        response.cache_control.public = True
        response.cache_control.max_age = LONG
        response.cache_control.immutable = True
    else:
        response.cache_control.no_cache = True
    return response
