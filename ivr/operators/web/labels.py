"""The words the page shows for the codes stored in the database, in the page's language."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ivr.operators.claims import OUTCOMES as CLAIM_OUTCOMES
from ivr.operators.web.forms import OUTCOME_LABELS

REASONS = {
    "abandoned": _l("Hung up while waiting"),
    "waited_too_long": _l("Waited too long"),
    "no_operator": _l("No operator free"),
    "surge": _l("Too many calls"),
    "out_of_hours": _l("Out of hours"),
    "chosen": _l("Asked for a call back"),
    "no_choice": _l("Chose nothing"),
}
WINDOWS = {"any": _l("any time"), "day": _l("daytime, 9:00–18:00"),
           "evening": _l("evenings, 18:00–22:00"),
           "wait": _l("do not call: they will call us again")}
STATUSES = {"open": _l("Open"), "waiting": _l("Waiting, not claimed"),
            "claimed": _l("Claimed"), "done": _l("Done")}
OUTCOMES = {**OUTCOME_LABELS, "open": _l("Open")}
OUTCOME_CHOICES = tuple((code, OUTCOME_LABELS[code]) for code in CLAIM_OUTCOMES)
CALL_STATUSES = {
    "queued": _l("placing the call"), "initiated": _l("dialling"), "ringing": _l("ringing"),
    "in-progress": _l("answered"), "completed": _l("ended"), "busy": _l("busy"),
    "failed": _l("failed"), "no-answer": _l("no answer"), "canceled": _l("cancelled"),
}
ACTIONS = {
    "login": _l("signed in"), "login_failed": _l("failed to sign in"), "logout": _l("signed out"),
    "claim": _l("claimed"), "release": _l("released"), "reveal": _l("revealed the number"),
    "play": _l("played the message"), "call": _l("called back"), "notes": _l("saved notes"),
    "outcome": _l("recorded an outcome"), "export": _l("exported"), "duty": _l("duty"),
    "surge": _l("surge switch"), "account": _l("account"),
    "block": _l("block a number"), "unblock": _l("unblock a number"),
    "dismiss_flag": _l("many calls let be"),
    "second_factor": _l("second factor"),
    "chat": _l("web chat"),
}
LANGUAGES = {"ru": _l("Russian"), "uk": _l("Ukrainian"), "en": _l("English")}
ALERT_LEVELS = {"ERROR": _l("Error"), "WARNING": _l("Warning"), "NOTICE": _l("Notice"),
                "DEBUG": _l("Debug")}


def language(code: str) -> str:
    return str(LANGUAGES.get(code, code))


def safety_words() -> dict[str, object]:
    """The safe-to-call texts of a row, translated once for a whole page of rows."""
    return {"banner": _("Do not say who we are"), "unknown_time": _("Their time unknown"),
            "wait": _("Do not call: they will call us again"),
            "no_window": _("safe time not given"), "outside": _("outside their safe time"),
            "windows": {code: _("safe: %(window)s", window=str(label))
                        for code, label in WINDOWS.items()}}
