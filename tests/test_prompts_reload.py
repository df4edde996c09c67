"""A changed menu or prompt reaches the next caller without a restart; a broken one never
reaches a caller at all."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from ivr.cli import make_cli
from ivr.menu import reloading
from ivr.settings import PROJECT_ROOT
from tests.support import hotline_of, signed_post, twilio_params

MAIN_INTRO = '"The hotline. Your call is confidential."'
NEW_INTRO = "This is the hotline. Everything you say stays here."


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(PROJECT_ROOT / "prompts", tmp_path / "prompts"))


@pytest.fixture
def checks_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reloading, "CHECK_EVERY", 0.0)


def main_menu_heard(app: Flask) -> tuple[str | None, str | None]:
    """The first text said and the first recording played in the English main menu."""
    response = signed_post(app.test_client(), "/voice/menu?node=main&lang=en", twilio_params())
    document = ET.fromstring(response.data)
    say, play = document.find("Gather/Say"), document.find("Gather/Play")
    return (None if say is None else say.text), (None if play is None else play.text)


def main_intro_said(app: Flask) -> str | None:
    return main_menu_heard(app)[0]


def rewrite_the_intro(prompts_dir: Path) -> None:
    texts = prompts_dir / "en" / "texts.yaml"
    texts.write_text(texts.read_text().replace(MAIN_INTRO, f'"{NEW_INTRO}"'))
    (prompts_dir / "en" / "main_intro.wav").unlink()


def ivr(prompts_dir: Path, *args: str, spool_dir: Path) -> tuple[int, str]:
    result = CliRunner().invoke(make_cli(), list(args), env={
        "PROMPTS_DIR": str(prompts_dir), "SPOOL_DIR": str(spool_dir)})
    return result.exit_code, result.output


def spool_dir_of(app: Flask) -> Path:
    return hotline_of(app).settings.spool_dir


def reloader_of(app: Flask) -> reloading.PromptsReloader:
    settings = hotline_of(app).settings
    return reloading.PromptsReloader(app, settings.prompts_dir, settings.spool_dir)


def test_a_changed_prompt_reaches_the_next_caller_without_a_restart(
        prompts_dir: Path, make_app: Callable[..., Flask], checks_every_request: None) -> None:
    app = make_app(PROMPTS_DIR=str(prompts_dir))
    assert main_intro_said(app) is None  # the recording is played

    rewrite_the_intro(prompts_dir)

    assert main_intro_said(app) == NEW_INTRO


def test_a_changed_menu_reaches_the_next_caller_and_their_next_key(
        prompts_dir: Path, make_app: Callable[..., Flask], checks_every_request: None) -> None:
    # The menu's decisions are remembered per menu: a reloaded menu decides afresh.
    app = make_app(PROMPTS_DIR=str(prompts_dir))

    def waits_for_a_key(path: str, **params: str) -> str | None:
        response = signed_post(app.test_client(), path, twilio_params(**params))
        return ET.fromstring(response.data).find("Gather").get("timeout")  # type: ignore[union-attr]

    assert waits_for_a_key("/voice/incoming") == "5"
    assert waits_for_a_key("/voice/menu/input?node=language&try=1", Digits="3") == "5"

    menu = prompts_dir / "menu.yaml"
    menu.write_text(menu.read_text().replace("    timeout: 5\n", "    timeout: 7\n"))

    assert waits_for_a_key("/voice/incoming") == "7"
    assert waits_for_a_key("/voice/menu/input?node=language&try=1", Digits="3") == "7"


def test_a_broken_menu_is_not_loaded_and_calls_go_on_with_the_old_one(
        prompts_dir: Path, make_app: Callable[..., Flask], checks_every_request: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(PROMPTS_DIR=str(prompts_dir))
    menu = hotline_of(app).menu

    (prompts_dir / "menu.yaml").write_text("start: nowhere\nnodes: {}\n")
    response = signed_post(app.test_client(), "/voice/incoming", twilio_params())

    assert response.status_code == 200
    assert ET.fromstring(response.data).find("Gather") is not None
    assert hotline_of(app).menu is menu
    assert "prompts not reloaded, the loaded ones stay in use" in capsys.readouterr().err


def test_the_files_are_looked_at_only_every_few_seconds(
        prompts_dir: Path, make_app: Callable[..., Flask]) -> None:
    app = make_app(PROMPTS_DIR=str(prompts_dir))

    rewrite_the_intro(prompts_dir)

    said, played = main_menu_heard(app)

    assert said is None  # still the recording, until the next look
    assert played is not None and played.startswith("/prompts/en/main_intro.wav")


def test_reload_checks_the_files_and_tells_the_service(prompts_dir: Path,
                                                       make_app: Callable[..., Flask]) -> None:
    app = make_app(PROMPTS_DIR=str(prompts_dir))
    reloader = reloader_of(app)
    files_before = sorted(prompts_dir.rglob("*"))

    code, output = ivr(prompts_dir, "prompts", "reload", spool_dir=spool_dir_of(app))

    assert code == 0, output
    assert "running processes load them within 3 seconds" in output
    assert (spool_dir_of(app) / reloading.RELOAD_MARKER).exists()
    assert sorted(prompts_dir.rglob("*")) == files_before  # nothing left among the sources
    assert reloader.reload_if_changed()  # the marker alone is a change


def test_without_a_spool_dir_it_can_write_the_marker_goes_beside_the_prompts(
        prompts_dir: Path, make_app: Callable[..., Flask], tmp_path: Path) -> None:
    spool_dir = tmp_path / "a-file"
    spool_dir.write_text("not a folder")
    app = make_app(PROMPTS_DIR=str(prompts_dir), SPOOL_DIR=str(spool_dir))
    reloader = reloader_of(app)

    result = CliRunner().invoke(make_cli(), ["prompts", "reload"], env={
        "PROMPTS_DIR": str(prompts_dir), "SPOOL_DIR": str(spool_dir)})

    assert result.exit_code == 0, result.output
    assert result.stderr == (f"SPOOL_DIR={spool_dir} cannot be written: the marker is "
                             f"{prompts_dir / reloading.FALLBACK_MARKER}\n")
    assert reloader.reload_if_changed()


def test_a_marker_that_cannot_be_written_anywhere_is_reported_in_one_line(
        prompts_dir: Path, tmp_path: Path) -> None:
    spool_dir = tmp_path / "a-file"
    spool_dir.write_text("not a folder")
    (prompts_dir / reloading.FALLBACK_MARKER).mkdir()  # a folder where the file would go

    code, output = ivr(prompts_dir, "prompts", "reload", spool_dir=spool_dir)

    assert code == 1
    assert output.splitlines()[-1] == (
        f"ivr: cannot write {spool_dir / reloading.RELOAD_MARKER} (Not a directory) nor "
        f"{prompts_dir / reloading.FALLBACK_MARKER}; the service still picks up changed files "
        "by their modification time")


def test_reload_refuses_a_broken_file_and_tells_nobody(prompts_dir: Path,
                                                       tmp_path: Path) -> None:
    texts = prompts_dir / "uk" / "texts.yaml"
    texts.write_text("this: [is not: yaml")

    code, output = ivr(prompts_dir, "prompts", "reload", spool_dir=tmp_path / "spool")

    assert code == 1
    assert output.startswith("ivr: ") and output.count("\n") == 1
    assert "the running service keeps the menu it has" in output
    assert not (tmp_path / "spool" / reloading.RELOAD_MARKER).exists()
    assert not (prompts_dir / reloading.FALLBACK_MARKER).exists()
