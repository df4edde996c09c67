"""Who is signed in to the operators' page: a plain copy of their account, safe to keep
for the whole request (no database session attached)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask_login import UserMixin, login_required
from sqlalchemy.orm import Session

from ivr.models import Operator


@dataclass(frozen=True)
class Staff(UserMixin):  # type: ignore[misc]
    id: int
    login: str
    name: str
    role: str
    languages: tuple[str, ...]
    page_language: str
    # Changes with the password and on sign-out, so either ends the person's sessions
    # everywhere, on every device and in every copied cookie.
    token: str

    @property
    def supervisor(self) -> bool:
        return self.role == "supervisor"

    def get_id(self) -> str:
        return f"{self.id}:{self.token}"

    def may_see(self, language: str) -> bool:
        return self.supervisor or language in self.languages

    def visible_languages(self, all_languages: tuple[str, ...]) -> tuple[str, ...]:
        if self.supervisor:
            return all_languages
        return tuple(code for code in all_languages if code in self.languages)


def token_of(operator: Operator) -> str:
    ended = operator.sessions_ended_at.isoformat() if operator.sessions_ended_at else ""
    return hashlib.sha256(f"{operator.password_hash}|{ended}".encode()).hexdigest()[:16]


def staff_of(operator: Operator) -> Staff:
    return Staff(id=operator.id, login=operator.login, name=operator.name, role=operator.role,
                 languages=operator.language_codes, page_language=operator.page_language,
                 token=token_of(operator))


def load(session: Session, user_id: str) -> Staff | None:
    """The person a session cookie names, if the account is still active and the password
    has not changed since they signed in."""
    raw_id, _, token = user_id.partition(":")
    if not raw_id.isdigit() or len(raw_id) > 18:
        return None
    operator = session.get(Operator, int(raw_id))
    if operator is None or not operator.active or token_of(operator) != token:
        return None
    return staff_of(operator)


View = TypeVar("View", bound=Callable[..., Any])


def signed_in(view: View) -> View:
    """Flask-Login's login_required, typed: the view is for people who signed in."""
    return cast(View, login_required(view))
