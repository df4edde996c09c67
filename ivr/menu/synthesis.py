"""`ivr prompts render`: recordings made from the texts with espeak-ng, until real voices
replace them. A human recording is never overwritten unless asked (--force)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from ivr.menu.menu_file import Menu, MenuError
from ivr.menu.prompts import (
    load_texts,
    needs_rendering,
    read_manifest,
    record_rendering,
    write_manifest,
)
from ivr.settings import StartupError

# espeak-ng's names where they differ from the language's primary subtag.
ESPEAK_VOICES = {"en-US": "en-us", "en-GB": "en-gb", "pt-BR": "pt-br"}
TOOLS = ("espeak-ng", "sox")


class RenderError(StartupError):
    pass


def render(menu: Menu, root: Path, languages: Iterable[str], force: bool,
           echo: Callable[[str], None]) -> int:
    """Write `<prompt>.wav` for each prompt whose recording is missing, broken or stale."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise RenderError(f"{' and '.join(missing)} not installed "
                          f"(Debian: apt-get install {' '.join(missing)})")
    made = 0
    for lang in languages:
        folder = root / lang
        texts = load_texts(root, lang, menu)
        manifest = read_manifest(folder)
        voice = ESPEAK_VOICES.get(menu.languages[lang].say_language, lang)
        for prompt_id in sorted(menu.prompt_ids()):
            text = texts.get(prompt_id)
            if text is None or not (force or needs_rendering(folder, prompt_id, text, manifest)):
                continue
            audio = synthesise(voice, text)
            (folder / f"{prompt_id}.wav").write_bytes(audio)
            record_rendering(manifest, prompt_id, text, audio)
            echo(f"{lang}/{prompt_id}.wav")
            made += 1
        for gone in set(manifest) - menu.prompt_ids():
            del manifest[gone]
        write_manifest(folder, manifest)
    return made


def synthesise(voice: str, text: str) -> bytes:
    """8 kHz 16-bit mono WAV: telephone quality, a fifth of espeak-ng's own output."""
    with tempfile.TemporaryDirectory() as scratch:
        spoken, phone = Path(scratch) / "spoken.wav", Path(scratch) / "phone.wav"
        _run(["espeak-ng", "-v", voice, "-s", "150", "-b", "1", "-w", str(spoken)], text)
        # -D: no dither, so the same text always gives the same file.
        _run(["sox", "-D", str(spoken), "-r", "8000", "-c", "1", "-b", "16", str(phone)])
        return phone.read_bytes()


def _run(command: list[str], stdin: str | None = None) -> None:
    try:
        subprocess.run(command, input=stdin.encode() if stdin else None, check=True,  # noqa: S603
                       capture_output=True, timeout=60)
    except subprocess.CalledProcessError as error:
        problem = error.stderr.decode(errors="replace").strip().splitlines()
        raise RenderError(f"{command[0]} failed: {problem[-1] if problem else error}") from None
    except subprocess.TimeoutExpired:
        raise RenderError(f"{command[0]} took more than a minute") from None


def languages_to_render(menu: Menu, requested: str | None) -> list[str]:
    if requested is None:
        return list(menu.languages)
    if requested not in menu.languages:
        raise MenuError(f"--lang {requested}: not one of {', '.join(menu.languages)}")
    return [requested]
