"""A broken menu file stops start-up with a line naming the file and the problem."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from flask import Flask

from ivr.menu.menu_file import MenuError, Voice, load_menu
from ivr.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "prompts"


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    """A copy of the shipped prompts to break."""
    return Path(shutil.copytree(SHIPPED, tmp_path / "prompts"))


def edit_menu(prompts_dir: Path, change: Callable[[dict], None]) -> Path:  # type: ignore[type-arg]
    path = prompts_dir / "menu.yaml"
    menu = yaml.safe_load(path.read_text())
    change(menu)
    path.write_text(yaml.safe_dump(menu, allow_unicode=True))
    return path


def test_the_shipped_menu_loads() -> None:
    menu = load_menu(SHIPPED / "menu.yaml")

    assert menu.start == "language"
    assert [option.key for option in menu.node("language").options] == ["1", "2", "3"]
    assert [(option.key, option.goto) for option in menu.node("main").options] == [
        ("1", "operator"), ("2", "callback"), ("3", "about"), ("0", "main"), ("*", "language")]


BREAKAGES: list[tuple[str, Callable[[dict], None], str]] = [  # type: ignore[type-arg]
    ("unknown target", lambda m: m["nodes"]["main"]["options"]["1"].update(goto="operatr"),
     "nodes.main.options.1.goto: 'operatr' is not a node"),
    ("bad key", lambda m: m["nodes"]["main"]["options"].update({"12": {"goto": "main"}}),
     "nodes.main.options.12: a key is one of 0-9"),
    ("unknown language", lambda m: m["nodes"]["language"]["options"].update({"4": "de"}),
     "nodes.language.options.4: 'de' is not one of the languages"),
    ("no fallback", lambda m: m["nodes"]["main"].pop("fallback"),
     "nodes.main.fallback: missing: name the node to go to"),
    ("typo in a setting", lambda m: m["nodes"]["main"].update(repeat=3),
     "nodes.main.repeat: not a setting of a menu node"),
    ("repeats out of range", lambda m: m["nodes"]["main"].update(repeats=0),
     "nodes.main.repeats: must be a whole number from 1 to 5"),
    ("messages in a loop", lambda m: m["nodes"].update(
        more={"kind": "message", "prompts": ["about"], "next": "about"})
     or m["nodes"]["about"].update(next="more"),
     "messages lead round in a loop"),
    ("bad start", lambda m: m.update(start="welcome"), "start: 'welcome' is not a node"),
    ("voice that cannot speak the language",
     lambda m: m["languages"]["uk"].update(voice="Polly.Tatyana"),
     "languages.uk.voice: Polly.Tatyana does not speak uk-UA"),
    ("one prompt announcing two keys",
     lambda m: m["nodes"]["main"]["options"]["0"].update(prompt="option_operator"),
     "prompt 'option_operator' would announce two keys"),
    ("prompt id that could be a path", lambda m: m["nodes"]["about"].update(prompts=["../x"]),
     "'../x': a prompt id is lower-case letters"),
    ("speak neither recordings nor voice", lambda m: m["languages"]["uk"].update(speak="tts"),
     "languages.uk.speak: must be recordings (the default) or voice"),
    ("typo in a language's setting", lambda m: m["languages"]["uk"].update(speek="voice"),
     "languages.uk.speek: not a setting of a language"),
]


@pytest.mark.parametrize(("change", "problem"), [(change, problem) for _, change, problem
                                                 in BREAKAGES],
                         ids=[name for name, _, _ in BREAKAGES])
def test_a_broken_menu_is_refused_with_the_file_and_the_problem(
        prompts_dir: Path, change: Callable[[dict], None], problem: str) -> None:  # type: ignore[type-arg]
    path = edit_menu(prompts_dir, change)

    with pytest.raises(MenuError) as error:
        load_menu(path)

    assert str(error.value).startswith(f"{path}: ")
    assert problem in str(error.value)
    assert "\n" not in str(error.value)


def test_a_language_speaks_its_recordings_unless_told_to_use_twilios_voice(
        prompts_dir: Path) -> None:
    path = edit_menu(prompts_dir, lambda m: m["languages"].update(
        uk={"say_language": "uk-UA", "voice": "Google.uk-UA-Wavenet-A", "speak": "voice"}))

    menu = load_menu(path)

    assert menu.languages["uk"] == Voice("uk-UA", "Google.uk-UA-Wavenet-A", "voice")
    assert menu.languages["ru"].speak == "recordings"


def test_menu_that_is_not_yaml_names_the_line(prompts_dir: Path) -> None:
    path = prompts_dir / "menu.yaml"
    path.write_text("start: language\nnodes:\n  main: {kind: menu\n  about: [\n")

    with pytest.raises(MenuError, match=r"menu.yaml: not valid YAML: line \d+, column \d+"):
        load_menu(path)


def test_unquoted_star_key_is_explained(prompts_dir: Path) -> None:
    path = prompts_dir / "menu.yaml"
    path.write_text(path.read_text().replace('"*": {prompt', "*: {prompt"))

    with pytest.raises(MenuError, match=r"menu\.yaml: not valid YAML"):
        load_menu(path)


def test_a_prompt_with_neither_text_nor_recording_stops_start_up(
        prompts_dir: Path, make_app: Callable[..., Flask]) -> None:
    texts = prompts_dir / "uk" / "texts.yaml"
    texts.write_text(texts.read_text().replace("  queue_goodbye:", "  farewell:"))
    (prompts_dir / "uk" / "queue_goodbye.wav").unlink()

    with pytest.raises(MenuError, match=r"uk/texts.yaml: no text and no recording for prompt "
                                        "'queue_goodbye'"):
        make_app(PROMPTS_DIR=str(prompts_dir))


def test_texts_file_that_is_broken_stops_start_up(prompts_dir: Path,
                                                  make_app: Callable[..., Flask]) -> None:
    (prompts_dir / "en" / "texts.yaml").write_text("texts: [unclosed\n")

    with pytest.raises(MenuError, match=r"en/texts.yaml: cannot read it"):
        make_app(PROMPTS_DIR=str(prompts_dir))


def test_service_with_a_broken_menu_exits_with_one_line(prompts_dir: Path) -> None:
    edit_menu(prompts_dir, lambda m: m["nodes"]["main"]["options"]["1"].update(goto="nowhere"))

    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=60, check=False,
                            env={"PATH": "/usr/bin:/bin", "PROMPTS_DIR": str(prompts_dir)})

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"ivr: {prompts_dir}/menu.yaml: nodes.main.options.1.goto: 'nowhere' is not a node"]
