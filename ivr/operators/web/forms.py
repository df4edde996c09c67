"""The page's forms. Flask-WTF adds and checks the CSRF token of each."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange

from ivr.operators.accounts import ROLES
from ivr.operators.blocking import BLOCK_DAYS
from ivr.operators.claims import DECISIONS, NOTES_LIMIT, OUTCOMES

# The languages the page is written in (English, and the catalogues under translations/).
PAGE_LANGUAGES = ("en", "ru", "uk")


class SignInForm(FlaskForm):
    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class CodeForm(FlaskForm):
    """A code of the second factor: six digits from the app, or a recovery code."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)])


class ButtonForm(FlaskForm):
    """A form that is just a button (claim, reveal, call, log out): only its CSRF token."""


class NotesForm(FlaskForm):
    """A note added to the request's history (under the call going on, if any)."""

    notes = TextAreaField(_l("Note"), validators=[Length(max=NOTES_LIMIT)])


OUTCOME_LABELS = {
    "reached": _l("Reached"),
    "no_answer": _l("No answer (back to the queue)"),
    "wrong_number": _l("Wrong number"),
    "do_not_call": _l("Asked not to be called"),
    "closed": _l("Closed"),
}


# Choices are plain strings checked here; the templates write the radios and selects.
class OutcomeForm(FlaskForm):
    outcome = StringField(_l("Outcome"), validators=[DataRequired(), AnyOf(OUTCOMES)])
    # A note about this try, kept under it in the history.
    note = TextAreaField(_l("Note"), validators=[Length(max=NOTES_LIMIT)])


class DecisionForm(FlaskForm):
    """A supervisor's decision after the last try: try again, or close with an outcome."""

    decision = StringField(_l("Decision"), validators=[DataRequired(), AnyOf(DECISIONS)])


class SwitchForm(FlaskForm):
    """On or off: duty, surge, an account."""

    on = HiddenField(validators=[DataRequired()])


class LanguageForm(FlaskForm):
    page_language = StringField(_l("Page language"), validators=[AnyOf(PAGE_LANGUAGES)])


class NewOperatorForm(FlaskForm):
    login = StringField(_l("Login"), validators=[DataRequired(), Length(max=64)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    phone = StringField(_l("Phone"), validators=[DataRequired(), Length(max=32)])
    role = StringField(_l("Role"), validators=[AnyOf(ROLES)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class PasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])


class OwnPasswordForm(FlaskForm):
    """A person changes their own password (and proves it is them)."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=256)])
    new = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=256)])
    again = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=256)])
    code = StringField(_l("Code"), validators=[Length(max=32)])


class BlockForm(FlaskForm):
    """A supervisor blocks a caller's number: for how many days, and why."""

    days = StringField(_l("For"), validators=[AnyOf([str(days) for days in BLOCK_DAYS])])
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=200)])
    flag = HiddenField()


class FlagForm(FlaskForm):
    """Let a flagged number be."""

    flag = HiddenField(validators=[DataRequired()])


# Ids the page wrote into the form; a forged or absurd one is refused like a stale form.
_AN_ID = [InputRequired(), NumberRange(min=1, max=2**63 - 1)]


class HandoverForm(FlaskForm):
    """A supervisor takes a request from the person who held it when the page was drawn:
    back to the queue, or to another operator (`to`)."""

    holder = IntegerField(validators=_AN_ID)


class ReassignForm(HandoverForm):
    to = IntegerField(_l("Give it to"), validators=_AN_ID)
