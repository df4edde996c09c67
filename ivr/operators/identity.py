"""Who is acting on the desk: a plain copy of an operator's account, safe to keep for a
whole request (no database session attached), and the token that ends their sessions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ivr.models import Operator


@dataclass(frozen=True)
class Staff:
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
