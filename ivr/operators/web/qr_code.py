"""The QR code a person's authenticator app scans, drawn here as inline SVG: nothing is
fetched from anywhere else, and the secret it holds never leaves the page."""

from __future__ import annotations

import segno
from markupsafe import Markup


def qr_svg(text: str) -> Markup:
    # segno writes plain SVG of paths, with no script and no style attribute (the page's
    # CSP allows neither); the text is ours (an otpauth:// URI), not a visitor's.
    return Markup(segno.make(text, error="m").svg_inline(scale=5, dark="#000",  # noqa: S704
                                                         light="#fff", title="QR code"))
