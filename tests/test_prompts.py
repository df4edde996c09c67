"""What callers hear comes from texts and recordings, checked before a caller finds a gap."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from flask import Flask
from werkzeug.test import TestResponse

from ivr.cli import make_cli
from ivr.menu.menu_file import load_menu
from ivr.menu.prompts import HOLD_AUDIO, find_recording
from ivr.settings import PROJECT_ROOT
from tests.support import hotline_of, signed_post, twilio_params

SHIPPED = PROJECT_ROOT / "prompts"
needs_tools = pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                 reason="espeak-ng and sox are not installed")


@pytest.fixture
def prompts_dir(tmp_path: Path) -> Path:
    return Path(shutil.copytree(SHIPPED, tmp_path / "prompts"))


def edit_languages(prompts_dir: Path, change: Callable[[dict[str, Any]], object]) -> None:
    """Change menu.yaml's `languages:` in this copy of the prompts."""
    path = prompts_dir / "menu.yaml"
    menu = yaml.safe_load(path.read_text())
    change(menu["languages"])
    path.write_text(yaml.safe_dump(menu, allow_unicode=True, sort_keys=False))


def speak_with_voice(prompts_dir: Path, lang: str) -> None:
    """Have Twilio's voice say every prompt of the language, as menu.yaml's `speak: voice`."""
    edit_languages(prompts_dir, lambda languages: languages.update({lang: {
        "say_language": "uk-UA", "voice": "Google.uk-UA-Wavenet-A", "speak": "voice"}}))


def machine_made_in(folder: Path) -> set[str]:
    """The prompts of the shipped menu whose recordings `ivr prompts render` made."""
    menu = load_menu(SHIPPED / "menu.yaml")
    rendered = json.loads((folder / "rendered.json").read_text())
    return {prompt_id for prompt_id in menu.prompt_ids() - {HOLD_AUDIO}
            if prompt_id in rendered}


def cache_directives(response: TestResponse) -> set[str]:
    return {part.strip() for part in response.headers["Cache-Control"].split(",")}


def ivr(*args: str, prompts_dir: Path) -> tuple[int, str]:
    result = CliRunner().invoke(make_cli(), list(args), env={"PROMPTS_DIR": str(prompts_dir)})
    return result.exit_code, result.output


def test_every_shipped_prompt_has_a_text_and_a_recording_in_every_language() -> None:
    code, output = ivr("prompts", "check", prompts_dir=SHIPPED)  # it only reads them

    assert code == 0, output
    assert "every prompt has a text and a good recording" in output


def test_check_lists_every_gap_and_fails(prompts_dir: Path) -> None:
    texts = prompts_dir / "uk" / "texts.yaml"
    texts.write_text(texts.read_text().replace("  about:", "  about_us:"))
    (prompts_dir / "ru" / "queue_goodbye.wav").unlink()
    (prompts_dir / "en" / "about.wav").write_bytes(b"")
    (prompts_dir / "en" / "queue_goodbye.wav").unlink()
    (prompts_dir / "en" / "queue_goodbye.mp3").write_text("<html>not found</html>")

    code, output = ivr("prompts", "check", prompts_dir=prompts_dir)

    assert code == 1
    assert f"uk/about: no text in {prompts_dir}/uk/texts.yaml" in output
    assert "ru/queue_goodbye: no recording (run: ivr prompts render)" in output
    assert "en/about: about.wav is empty" in output
    assert "en/queue_goodbye: queue_goodbye.mp3 is not an MP3 file" in output
    assert output.strip().endswith(f"ivr: 4 prompt problem(s) in {prompts_dir}")


def test_check_finds_a_recording_made_from_an_older_text(prompts_dir: Path) -> None:
    texts = prompts_dir / "en" / "texts.yaml"
    texts.write_text(texts.read_text().replace("Thank you for calling.", "Thanks for calling."))

    code, output = ivr("prompts", "check", prompts_dir=prompts_dir)

    assert code == 1
    assert ("en/queue_goodbye: queue_goodbye.wav was made from an older text "
            "(run: ivr prompts render)") in output


def test_check_warns_of_machine_made_recordings_but_passes(prompts_dir: Path) -> None:
    edit_languages(prompts_dir, lambda languages: [spec.pop("speak", None)
                                                   for spec in languages.values()])
    by_hand = (prompts_dir / "ru" / "main_intro.wav").read_bytes() + b"\0\0"
    (prompts_dir / "ru" / "main_intro.wav").write_bytes(by_hand)  # a person recorded it
    made = {lang: len(machine_made_in(prompts_dir / lang)) for lang in ("ru", "uk", "en")}

    code, output = ivr("prompts", "check", prompts_dir=prompts_dir)

    assert code == 0, output
    assert output.splitlines() == [
        *(f"warning: {lang}: {made[lang] - (lang == 'ru')} recording(s) are placeholders made "
          "by `ivr prompts render`; record them with a person's voice" for lang in made),
        f"every prompt has a text and a good recording in {prompts_dir}"]


def test_check_does_not_count_the_hold_audio_as_a_placeholder(prompts_dir: Path) -> None:
    menu = load_menu(prompts_dir / "menu.yaml")
    for lang in menu.languages:
        rendered = json.loads((prompts_dir / lang / "rendered.json").read_text())
        for prompt_id in menu.prompt_ids() - {HOLD_AUDIO}:
            (prompts_dir / lang / f"{prompt_id}.wav").write_bytes(
                (prompts_dir / lang / f"{prompt_id}.wav").read_bytes() + b"\0\0")
        assert HOLD_AUDIO in rendered

    code, output = ivr("prompts", "check", prompts_dir=prompts_dir)

    assert (code, output.splitlines()) == (
        0, [f"every prompt has a text and a good recording in {prompts_dir}"])


def test_a_language_spoken_by_twilios_voice_needs_texts_not_recordings(
        prompts_dir: Path) -> None:
    speak_with_voice(prompts_dir, "uk")
    for recording in (prompts_dir / "uk").glob("*.wav"):
        if recording.stem != HOLD_AUDIO:
            recording.unlink()
    texts = prompts_dir / "uk" / "texts.yaml"
    texts.write_text(texts.read_text().replace("  queue_goodbye:", "  farewell:"))

    code, output = ivr("prompts", "check", prompts_dir=prompts_dir)

    assert code == 1
    problems = [line for line in output.splitlines() if line.startswith("uk/")]
    assert problems == [f"uk/queue_goodbye: no text in {prompts_dir}/uk/texts.yaml"]
    assert "warning: uk:" not in output


def test_a_language_spoken_by_twilios_voice_says_every_prompt_but_plays_the_hold_audio(
        prompts_dir: Path, make_app: Callable[..., Flask]) -> None:
    speak_with_voice(prompts_dir, "uk")
    assert find_recording(prompts_dir / "uk", "main_intro") is not None
    app = make_app(PROMPTS_DIR=str(prompts_dir))

    response = signed_post(app.test_client(), "/voice/menu?node=main&lang=uk", twilio_params())

    document = ET.fromstring(response.data)
    assert document.find(".//Play") is None
    say = document.find("Gather/Say")
    assert say is not None
    assert (say.get("language"), say.get("voice")) == ("uk-UA", "Google.uk-UA-Wavenet-A")
    catalog = hotline_of(app).catalog
    assert catalog.get("uk", HOLD_AUDIO).recording == "hold_music.wav"
    assert catalog.recording_path("uk", "main_intro.wav") is None  # not served either
    assert catalog.get("ru", "main_intro").recording == "main_intro.wav"


def test_check_with_a_broken_menu_says_so_in_one_line(prompts_dir: Path) -> None:
    (prompts_dir / "menu.yaml").write_text("start: [\n")

    code, output = ivr("prompts", "check", prompts_dir=prompts_dir)

    assert code == 1
    assert output.startswith(f"ivr: {prompts_dir}/menu.yaml: not valid YAML")


@needs_tools
def test_render_makes_what_is_missing_or_stale_and_keeps_hand_made_recordings(
        prompts_dir: Path) -> None:
    texts = prompts_dir / "en" / "texts.yaml"
    texts.write_text(texts.read_text().replace("Thank you for calling.", "Thanks for calling."))
    (prompts_dir / "uk" / "about.wav").unlink()
    hand_made = prompts_dir / "ru" / "about.wav"
    hand_made.write_bytes((prompts_dir / "ru" / "queue_goodbye.wav").read_bytes())

    code, output = ivr("prompts", "render", prompts_dir=prompts_dir)

    assert code == 0, output
    assert output.splitlines() == ["uk/about.wav", "en/queue_goodbye.wav", "2 recording(s) made"]
    assert hand_made.read_bytes() == (prompts_dir / "ru" / "queue_goodbye.wav").read_bytes()
    assert ivr("prompts", "check", prompts_dir=prompts_dir)[0] == 0


@needs_tools
def test_render_one_language(prompts_dir: Path) -> None:
    for lang in ("ru", "en"):
        (prompts_dir / lang / "queue_goodbye.wav").unlink()

    code, output = ivr("prompts", "render", "--lang", "en", prompts_dir=prompts_dir)

    assert (code, output.splitlines()) == (0, ["en/queue_goodbye.wav", "1 recording(s) made"])
    assert find_recording(prompts_dir / "ru", "queue_goodbye") is None


def test_render_an_unknown_language_fails_clearly(prompts_dir: Path) -> None:
    code, output = ivr("prompts", "render", "--lang", "de", prompts_dir=prompts_dir)

    assert code == 1
    assert output.strip() == "ivr: --lang de: not one of ru, uk, en"


def test_recording_downloads_with_long_caching_for_its_versioned_url(app: Flask) -> None:
    prompt = hotline_of(app).catalog.get("ru", "main_intro")
    client = app.test_client()

    response = client.get(f"/prompts/ru/main_intro.wav?v={prompt.version}")

    assert response.status_code == 200
    assert response.content_type == "audio/wav"
    assert response.data[:4] == b"RIFF"
    assert cache_directives(response) == {"public", "max-age=31536000", "immutable"}
    revalidated = client.get(f"/prompts/ru/main_intro.wav?v={prompt.version}",
                             headers={"If-None-Match": response.headers["ETag"]})
    assert revalidated.status_code == 304


@pytest.mark.parametrize("query", ["?v=old", ""], ids=["old version", "no version"])
def test_recording_asked_for_by_an_old_or_unversioned_url_is_revalidated(
        app: Flask, query: str) -> None:
    client = app.test_client()
    response = client.get(f"/prompts/ru/main_intro.wav{query}")

    assert response.status_code == 200
    assert cache_directives(response) == {"no-cache"}
    assert "Expires" not in response.headers
    revalidated = client.get(f"/prompts/ru/main_intro.wav{query}",
                             headers={"If-None-Match": response.headers["ETag"]})
    assert revalidated.status_code == 304


@pytest.mark.parametrize("path", ["/prompts/ru/nothing.wav", "/prompts/de/main_intro.wav",
                                  "/prompts/ru/texts.yaml", "/prompts/ru/..%2Fmenu.yaml",
                                  "/prompts/ru/main_intro.mp3", "/prompts/ru/rendered.json"])
def test_only_recordings_are_served(app: Flask, path: str) -> None:
    assert app.test_client().get("/prompts/ru/main_intro.wav").status_code == 200
    assert app.test_client().get(path).status_code == 404


def test_prompt_without_a_recording_is_spoken_in_its_language(
        prompts_dir: Path, make_app: Callable[..., Flask]) -> None:
    edit_languages(prompts_dir, lambda languages: languages.update(
        uk={"say_language": "uk-UA", "voice": "Google.uk-UA-Standard-A"}))
    (prompts_dir / "uk" / "main_intro.wav").unlink()
    app = make_app(PROMPTS_DIR=str(prompts_dir))

    response = signed_post(app.test_client(), "/voice/menu?node=main&lang=uk", twilio_params())

    say = ET.fromstring(response.data).find("Gather/Say")
    assert say is not None
    assert say.get("language") == "uk-UA"
    assert say.get("voice") == "Google.uk-UA-Standard-A"
    assert say.text == yaml.safe_load((prompts_dir / "uk" / "texts.yaml").read_text(
        encoding="utf-8"))["texts"]["main_intro"]


def test_broken_recording_is_spoken_instead_of_played(
        prompts_dir: Path, make_app: Callable[..., Flask]) -> None:
    (prompts_dir / "en" / "main_intro.wav").write_bytes(b"RIFF....WAVEjunk")
    app = make_app(PROMPTS_DIR=str(prompts_dir))

    response = signed_post(app.test_client(), "/voice/menu?node=main&lang=en", twilio_params())

    assert ET.fromstring(response.data).find("Gather/Say") is not None


def test_text_with_markup_is_escaped_in_twiml(prompts_dir: Path,
                                               make_app: Callable[..., Flask]) -> None:
    hostile = "Press <Hangup/> & \"quotes\" </Say><Dial>+15551234567</Dial>"
    texts = prompts_dir / "en" / "texts.yaml"
    texts.write_text(re.sub(r"^  main_intro: .*$", "  main_intro: '" + hostile.replace(
        "'", "''").replace("\\", "\\\\") + "'", texts.read_text(), count=1, flags=re.M))
    (prompts_dir / "en" / "main_intro.wav").unlink()
    app = make_app(PROMPTS_DIR=str(prompts_dir))

    response = signed_post(app.test_client(), "/voice/menu?node=main&lang=en", twilio_params())

    document = ET.fromstring(response.data)
    assert document.find(".//Dial") is None and document.find(".//Hangup") is None
    say = document.find("Gather/Say")
    assert say is not None and say.text == hostile


def test_key_names_fill_in_the_texts_for_say(prompts_dir: Path,
                                              make_app: Callable[..., Flask]) -> None:
    (prompts_dir / "ru" / "option_language.wav").unlink()
    app = make_app(PROMPTS_DIR=str(prompts_dir))

    prompt = hotline_of(app).catalog.get("ru", "option_language")

    assert prompt.text == "Другой язык — нажмите звёздочку."
