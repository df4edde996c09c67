"""A fresh machine installs what was tested: every dependency is pinned in constraints.txt,
and every way of installing the app takes it."""

from __future__ import annotations

import re
import tomllib

import pytest

from ivr.settings import PROJECT_ROOT

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
PINNED = {
    re.sub(r"[-_.]+", "-", name).lower(): version
    for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)$",
                                    (PROJECT_ROOT / "constraints.txt").read_text(), re.M)}


def name_of(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\[<>=~!; ]", requirement, maxsplit=1)[0]).lower()


REQUIREMENTS = [*PYPROJECT["project"]["dependencies"],
                *PYPROJECT["project"]["optional-dependencies"]["dev"]]


def test_the_constraints_pin_what_the_tests_ran_with() -> None:
    assert len(PINNED) >= len(REQUIREMENTS)
    assert "flask" in PINNED and "sqlalchemy" in PINNED


@pytest.mark.parametrize("requirement", REQUIREMENTS, ids=name_of)
def test_every_dependency_is_pinned(requirement: str) -> None:
    assert name_of(requirement) in PINNED, f"{requirement} is not in constraints.txt (make lock)"


@pytest.mark.parametrize("installer", ["Makefile", "Dockerfile"])
def test_every_install_takes_the_constraints(installer: str) -> None:
    text = (PROJECT_ROOT / installer).read_text()
    installs = [line for line in text.splitlines()
                if re.search(r"pip install\b", line) and ".venv-lock" not in line]
    assert installs
    for line in installs:
        assert "-c constraints.txt" in line, line
