"""Flask-Login for the page: the person a session cookie names, and the views only people
who signed in (or only supervisors) may see."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, redirect, session, url_for
from flask_login import UserMixin, current_user, login_required, logout_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from ivr.models import Operator
from ivr.operators.identity import Staff, staff_of, token_of


@dataclass(frozen=True)
class PageUser(Staff, UserMixin):  # type: ignore[misc]
    """A signed-in person, as Flask-Login keeps them."""

    def get_id(self) -> str:
        return f"{self.id}:{self.token}"

    @classmethod
    def of(cls, staff: Staff) -> PageUser:
        return cls(**{name: getattr(staff, name) for name in Staff.__dataclass_fields__})


def load(session: Session, user_id: str) -> PageUser | None:
    """The person a session cookie names, if the account is still active and the password
    has not changed since they signed in."""
    raw_id, _, token = user_id.partition(":")
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
        return None
    operator = session.get(Operator, int(raw_id))
    if operator is None or not operator.active or token_of(operator) != token:
        return None
    return PageUser.of(staff_of(operator))


def pending(database: Session, halfway: object) -> Operator | None:
    """The person who gave their password but not yet their second factor, if the account
    is still active and unchanged since."""
    if not isinstance(halfway, str):
        return None
    user = load(database, halfway)
    return database.get(Operator, user.id) if user is not None else None


def second_factor_given() -> Response | None:
    """Where the second factor is required, a session signed in without it (before it was
    required, say) is ended: the person signs in again, with it."""
    if current_user.is_authenticated and "second_factor_at" not in session:
        logout_user()
        session.clear()
        return redirect(url_for("operators.sign_in"))
    return None


def me() -> PageUser:
    return cast(PageUser, current_user._get_current_object())


View = TypeVar("View", bound=Callable[..., Any])


def signed_in(view: View) -> View:
    """Flask-Login's login_required, typed: the view is for people who signed in."""
    return cast(View, login_required(view))


def supervisors_only(view: View) -> View:
    @wraps(view)
    @signed_in
    def guarded(*args: object, **kwargs: object) -> object:
        if not me().supervisor:
            abort(403)
        return view(*args, **kwargs)

    return cast(View, guarded)
