"""The words the page shows for the codes stored in the database, in the page's language."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from ivr.operators.accounts import MIN_PASSWORD
from ivr.operators.audit_reading import Said
from ivr.operators.claims import CLOSING_OUTCOMES as CLAIM_CLOSING
from ivr.operators.claims import OUTCOMES as CLAIM_OUTCOMES
from ivr.operators.web.forms import OUTCOME_LABELS

REASONS = {
    "queue_hangup": _l("Hung up in the queue"),
    "abandoned": _l("Hung up while leaving a request"),
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
            "claimed": _l("Claimed"), "due": _l("Due now"), "later": _l("Next try later"),
            "decision": _l("Needs a decision"), "done": _l("Done")}
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
    "presence": _l("presence"), "paused": _l("paused after missed calls"),
    "decision": _l("decided after the last try"),
    "reassign": _l("reassigned"), "languages": _l("changed languages"),
    "chat": _l("web chat"),
}
# What a person is doing now (ivr/operators/presence.py STATES), on the header and the board.
PRESENCE_STATES = {
    "available": _l("Available"), "in_call": _l("In a call"), "in_chat": _l("In a chat"),
    "wrap_up": _l("Wrap-up"),
    "break": _l("On a break"), "paused": _l("Paused"), "signed_off": _l("Signed off"),
}


def presence_state(code: str) -> str:
    return str(PRESENCE_STATES.get(code, code))


DECISIONS = {"retry": _l("Try again"), **{code: OUTCOME_LABELS[code] for code in CLAIM_CLOSING}}
LANGUAGES = {"ru": _l("Russian"), "uk": _l("Ukrainian"), "en": _l("English")}
ALERT_LEVELS = {"ERROR": _l("Error"), "WARNING": _l("Warning"), "NOTICE": _l("Notice"),
                "DEBUG": _l("Debug")}


# Why the request page shows no call back button (request_view.NO_CALL), in words.
NO_CALL = {
    "closed": _l("No call back: this request is closed, nobody needs to call."),
    "not_claimed": _l("To call back, claim this request first: only the person who holds "
                      "it calls."),
    "no_hotline_number": _l("No call can be placed from this page: the hotline's own number "
                            "(HOTLINE_NUMBER) is not set. Ask an engineer."),
    "not_dialable": _l("The number we have for them cannot be dialled: it is not a valid "
                       "phone number. Wait for them to call again."),
    "no_caller_id": _l("No number of ours may be shown to a caller in their country "
                       "(CALLBACK_CALLER_IDS has none for it, and the hotline's published "
                       "number may not stand in). Ask an engineer to add one."),
}


def no_call(reason: str, holder: str | None = None) -> str:
    if reason == "held_by_another":
        return str(_("%(name)s holds this request: only they can call back, until they put "
                     "it back or their claim lapses.", name=holder or "?"))
    return str(NO_CALL.get(reason, reason))


def password_refused(reason: str) -> str:
    """Why a person's own password was not changed (own_password.REASONS), in words."""
    if reason == "too_short":
        return str(_("The new password is too short: it needs at least %(count)d characters.",
                     count=MIN_PASSWORD))
    words = {
        "mismatch": _("The two new passwords differ: type the same new password twice."),
        "wrong_password": _("Your current password is not right. Nothing was changed."),
        "wrong_code": _("Wrong code. Nothing was changed."),
        "locked": _("Too many failed attempts. Wait 15 minutes, then try again."),
    }
    return str(words.get(reason, _("That did not work")))


def language(code: str) -> str:
    return str(LANGUAGES.get(code, code))


def safety_words() -> dict[str, object]:
    """The safe-to-call texts of a row, translated once for a whole page of rows."""
    return {"banner": _("Do not say who we are"), "unknown_time": _("Their time unknown"),
            "wait": _("Do not call: they will call us again"),
            "no_window": _("safe time not given"), "outside": _("outside their safe time"),
            "windows": {code: _("safe: %(window)s", window=str(label))
                        for code, label in WINDOWS.items()}}


# The audit log's details, worded (see ivr.operators.audit_reading); %(login)s and the like
# are filled in from the detail, languages and outcomes in words first.
AUDIT_PHRASES = {
    "closed_trial_call": _l("closed: made by a trial call"),
    "duty_on": _l("%(login)s on duty"), "duty_off": _l("%(login)s off duty"),
    "surge_on": _l("%(language)s: on"), "surge_off": _l("%(language)s: off"),
    "account_added": _l("added %(login)s"), "account_enabled": _l("enabled %(login)s again"),
    "account_disabled": _l("disabled %(login)s"),
    "account_password": _l("new password for %(login)s"),
    "second_factor_enrolled": _l("set up"),
    "second_factor_recovery": _l("signed in with a recovery code"),
    "second_factor_reset": _l("reset for %(login)s"),
    "failed_locked": _l("too many failed attempts"),
    "failed_wrong": _l("wrong login or password"),
    "failed_disabled": _l("the account is disabled"), "failed_code": _l("wrong code"),
    "block": _l("%(number)s for %(days)s: %(reason)s"),
    "export_csv": _l("every request, without numbers (CSV)"),
    "release_from": _l("taken from %(login)s, back to the queue"),
    "reassign": _l("from %(holder)s to %(taker)s"),
    "languages": _l("%(login)s takes %(languages)s (before: %(before)s)"),
    "no_answer_status": _l("no answer (the call back: %(status)s)"),
    "presence_ready": _l("ready again (wrap-up ended)"),
    "presence": _l("%(before)s → %(after)s"),
    "paused": _l("%(login)s, after %(missed)s missed calls in a row"),
    "decision_retry": _l("try again: a new round of tries"),
}
# Phrases that are their one value alone (an outcome, a masked number, a detail as written).
AUDIT_ALONE = {"outcome": "outcome", "number": "number", "as_written": "text"}
# Outcomes as the audit log says them, inside a sentence.
AUDIT_OUTCOMES = {
    "reached": _l("reached"), "no_answer": _l("no answer"),
    "wrong_number": _l("wrong number"), "do_not_call": _l("asked not to be called"),
    "closed": _l("closed"),
}


def audit_detail(said: Said) -> str:
    """An audit entry's detail in the page's language."""
    values = dict(said.values)
    if "language" in values:
        values["language"] = language(values["language"])
    for key in ("languages", "before"):
        if said.phrase == "languages" and key in values:
            values[key] = ", ".join(language(code) for code in values[key].split(",") if code)
    if "outcome" in values:
        values["outcome"] = str(AUDIT_OUTCOMES.get(values["outcome"], values["outcome"]))
    for key in ("before", "after"):
        if said.phrase == "presence" and key in values:
            values[key] = presence_state(values[key])
    if "status" in values:
        values["status"] = str(CALL_STATUSES.get(values["status"], values["status"]))
    if "days" in values:
        values["days"] = ngettext("%(num)d day", "%(num)d days", int(values["days"]))
    if said.phrase in AUDIT_ALONE:
        return values.get(AUDIT_ALONE[said.phrase], "")
    phrase = AUDIT_PHRASES.get(said.phrase)
    return str(phrase) % values if phrase is not None else " ".join(values.values())


def audit_who(login: str, engineer: str | None) -> str:
    """Who acted: the person's login, or an engineer at the command line."""
    if engineer is None:
        return login
    if not engineer:
        return str(_("an engineer at the command line"))
    return str(_("%(user)s at the command line", user=engineer))


# How a person reached us (ivr/operators/work_queue.py channel_of, ChatConversation.channel).
CHANNELS = {"phone": _l("Phone"), "web": _l("Web chat"), "telegram": _l("Telegram")}


def channel(code: str) -> str:
    return str(CHANNELS.get(code, code))
