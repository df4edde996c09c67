"""The README cannot go stale: every setting, command and path must be in it."""

from __future__ import annotations

import re

import click
import pytest
from flask import Flask
from flask.cli import ScriptInfo

from ivr.cli import make_cli
from ivr.settings import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()
SETTING_READ = re.compile(
    r"""(?:source\.\w+|environ\.get|os\.environ\.get)\(\s*["']([A-Z][A-Z0-9_]*)""")


def settings_read_by_the_code() -> set[str]:
    names = set()
    for path in [*(PROJECT_ROOT / "ivr").rglob("*.py"), PROJECT_ROOT / "gunicorn.conf.py",
                 PROJECT_ROOT / "tests" / "conftest.py", PROJECT_ROOT / "bench" / "webhooks.py"]:
        names.update(SETTING_READ.findall(path.read_text()))
    names.add("IVR_TEST_POSTGRES_URL")
    return names


def commands(group: click.Group, context: click.Context, prefix: str) -> list[str]:
    found = []
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None
        found.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            found += commands(command, context, f"{prefix} {name}")
    return found


def test_the_settings_finder_sees_the_settings() -> None:
    assert {"DATABASE_URL", "TWILIO_AUTH_TOKEN", "PHONE_HASH_KEY", "PORT"} <= \
        settings_read_by_the_code()


@pytest.mark.parametrize("name", sorted(settings_read_by_the_code()))
def test_every_setting_is_documented(name: str) -> None:
    assert f"`{name}`" in README


def test_secret_files_are_documented() -> None:
    assert "`<NAME>_FILE`" in README


def test_every_command_is_documented(app: Flask) -> None:
    cli = make_cli()
    # Closing the context pops the app context that loading the app's commands pushed.
    with click.Context(cli, obj=ScriptInfo(create_app=lambda: app)) as context:
        documented = commands(cli, context, "ivr")

    assert "ivr prompts check" in documented
    for command in documented:
        assert f"`{command}" in README, f"{command} is not in the README"


def test_every_path_is_documented(app: Flask) -> None:
    paths = [rule.rule for rule in app.url_map.iter_rules()]

    assert "/voice/incoming" in paths
    for path in paths:
        assert f"`{path}`" in README, f"{path} is not in the README"


@pytest.mark.parametrize("target", ["make run", "make test", "make bench", "make drill",
                                    "make journeys", "make lock"])
def test_make_targets_are_documented(target: str) -> None:
    assert target in README
