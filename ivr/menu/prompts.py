"""What a caller hears: the texts and recordings under `prompts/<lang>/`.

Each prompt is a recording (`<id>.wav` or `<id>.mp3`) when there is a good one, and otherwise
its text, spoken by Twilio's <Say> in that language; a language with `speak: voice` in
menu.yaml has every prompt spoken by <Say>, whatever recordings it has, except the hold audio.
A text may say `{key}`: it becomes the key the menu gives that option, so the digits live in
one place (menu.yaml).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ivr.menu.menu_file import Menu, MenuError

AUDIO_TYPES = {".wav": "audio/wav", ".mp3": "audio/mpeg"}
TEXTS_FILE = "texts.yaml"
MANIFEST_FILE = "rendered.json"
# Polly's limit for one <Say>; Google's is higher, basic voices' lower (bytes).
SAY_LIMIT = 3000
# Music, not words: played in every language whatever its `speak`, made by
# `ivr prompts render` from synthesis.hold_audio rather than from its text (which <Say>
# says only when there is no good file).
HOLD_AUDIO = "hold_music"


@dataclass(frozen=True)
class Prompt:
    lang: str
    id: str
    text: str | None
    recording: str | None = None  # file name under prompts/<lang>/
    version: str | None = None  # short digest of the recording, for cache-busting URLs


@dataclass(frozen=True)
class Catalog:
    root: Path
    prompts: Mapping[tuple[str, str], Prompt]

    def get(self, lang: str, prompt_id: str) -> Prompt:
        return self.prompts[(lang, prompt_id)]

    def recording_path(self, lang: str, file_name: str) -> Path | None:
        """The file behind a recording URL, or None for anything that is not one of ours."""
        stem = file_name.rsplit(".", 1)[0]
        prompt = self.prompts.get((lang, stem))
        if prompt is None or prompt.recording != file_name:
            return None
        return self.root / lang / file_name


def load_catalog(menu: Menu, root: Path) -> Catalog:
    """Texts and good recordings for every prompt the menu uses, in every language.

    A prompt with neither stops start-up: the caller would hear silence.
    """
    prompts = {}
    for lang in menu.languages:
        texts = load_texts(root, lang, menu)
        for prompt_id in sorted(menu.prompt_ids()):
            recording = find_recording(root / lang, prompt_id)
            if recording is not None and (not plays_recording(menu, lang, prompt_id)
                                          or audio_problem(recording) is not None):
                recording = None
            text = texts.get(prompt_id)
            if text is None and recording is None:
                raise MenuError(f"{root / lang / TEXTS_FILE}: no text and no recording "
                                f"for prompt {prompt_id!r}")
            prompts[(lang, prompt_id)] = Prompt(
                lang=lang,
                id=prompt_id,
                text=text,
                recording=recording.name if recording else None,
                version=_digest(recording.read_bytes())[:10] if recording else None,
            )
    return Catalog(root=root, prompts=prompts)


def plays_recording(menu: Menu, lang: str, prompt_id: str) -> bool:
    """Whether callers hear this prompt's recording (if good) rather than Twilio's voice."""
    return menu.languages[lang].speak == "recordings" or prompt_id == HOLD_AUDIO


def load_texts(root: Path, lang: str, menu: Menu) -> dict[str, str]:
    """The texts of one language, with `{key}` filled in from the menu."""
    path = root / lang / TEXTS_FILE
    raw = _read_yaml(path)
    key_names = raw.get("keys", {}) or {}
    texts = raw.get("texts", {}) or {}
    if not isinstance(key_names, dict) or not isinstance(texts, dict):
        raise MenuError(f"{path}: 'keys' and 'texts' must be mappings")
    resolved = {}
    for prompt_id, text in texts.items():
        if not isinstance(text, str) or not text.strip():
            raise MenuError(f"{path}: texts.{prompt_id}: must be a non-empty string")
        if len(text) > SAY_LIMIT:
            raise MenuError(f"{path}: texts.{prompt_id}: longer than {SAY_LIMIT} characters")
        key = menu.keys.get((lang, str(prompt_id)))
        if "{key}" in text:
            if key is None:
                raise MenuError(f"{path}: texts.{prompt_id}: says {{key}} but no menu option "
                                "uses this prompt")
            text = text.replace("{key}", str(key_names.get(key, key)))
        resolved[str(prompt_id)] = " ".join(text.split())
    return resolved


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MenuError(f"{path}: missing") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise MenuError(f"{path}: cannot read it: {' '.join(str(error).split())}") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise MenuError(f"{path}: must be a mapping with 'texts' (and optionally 'keys')")
    return raw


def find_recording(folder: Path, prompt_id: str) -> Path | None:
    # WAV first: Twilio starts it sooner inside a <Gather>.
    for suffix in AUDIO_TYPES:
        path = folder / f"{prompt_id}{suffix}"
        if path.is_file():
            return path
    return None


def audio_problem(path: Path) -> str | None:
    """Why Twilio could not play this file, or None when it looks like real audio."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return f"cannot read it ({error.strerror})"
    if not data:
        return "empty"
    if path.suffix == ".wav":
        return None if _wav_has_samples(data) else "not a WAV file with sound in it"
    frame_sync = len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0
    is_mp3 = data.startswith(b"ID3") or frame_sync
    return None if is_mp3 else "not an MP3 file"


def _wav_has_samples(data: bytes) -> bool:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return False
    position = 12
    while position + 8 <= len(data):
        chunk, size = data[position:position + 4], int.from_bytes(data[position + 4:position + 8],
                                                                   "little")
        if chunk == b"data":
            return size > 0 and position + 8 < len(data)
        position += 8 + size + (size & 1)
    return False


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- `ivr prompts check` and `ivr prompts render` -----------------------------------------

@dataclass(frozen=True)
class Problem:
    lang: str
    prompt_id: str
    problem: str

    def __str__(self) -> str:
        return f"{self.lang}/{self.prompt_id}: {self.problem}"


def check(menu: Menu, root: Path) -> list[Problem]:
    """Every prompt without a text, and every recording missing, broken or older than its text."""
    problems = []
    for lang in menu.languages:
        try:
            texts = load_texts(root, lang, menu)
        except MenuError as error:
            problems.append(Problem(lang, TEXTS_FILE, str(error)))
            continue
        manifest = read_manifest(root / lang)
        for prompt_id in sorted(menu.prompt_ids()):
            text = texts.get(prompt_id)
            if text is None:
                problems.append(Problem(lang, prompt_id, f"no text in {root / lang / TEXTS_FILE}"))
            if plays_recording(menu, lang, prompt_id):
                problems.extend(_check_recording(root / lang, lang, prompt_id, text,
                                                 manifest.get(prompt_id)))
    return problems


def placeholders(menu: Menu, root: Path) -> dict[str, int]:
    """Per language, how many of the recordings callers hear `ivr prompts render` made: the
    machine's voice, to be replaced by a person's (the hold audio is meant to be made)."""
    found = {}
    for lang in menu.languages:
        manifest = read_manifest(root / lang)
        made = sum(1 for prompt_id in menu.prompt_ids()
                   if prompt_id != HOLD_AUDIO and plays_recording(menu, lang, prompt_id)
                   and machine_made(root / lang, prompt_id, manifest))
        if made:
            found[lang] = made
    return found


def machine_made(folder: Path, prompt_id: str,
                 manifest: Mapping[str, Mapping[str, str]]) -> bool:
    """Whether the prompt's recording is a good one that `ivr prompts render` made."""
    recording = find_recording(folder, prompt_id)
    return (recording is not None and audio_problem(recording) is None
            and _made_by_us(recording, manifest.get(prompt_id)))


def _made_by_us(recording: Path, rendered: Mapping[str, str] | None) -> bool:
    """Whether `ivr prompts render` made this file, as its manifest entry `rendered` says."""
    return rendered is not None and rendered.get("audio") == _digest(recording.read_bytes())


def _stale(recording: Path, rendered: Mapping[str, str] | None, text: str) -> bool:
    """Made by `ivr prompts render` from another text than `text`. Only a recording we made
    ourselves can be stale; a human recording is left alone."""
    return (rendered is not None and _made_by_us(recording, rendered)
            and rendered.get("text") != _digest(text.encode()))


def _check_recording(folder: Path, lang: str, prompt_id: str, text: str | None,
                     rendered: Mapping[str, str] | None) -> Iterator[Problem]:
    recording = find_recording(folder, prompt_id)
    if recording is None:
        yield Problem(lang, prompt_id, "no recording (run: ivr prompts render)")
        return
    problem = audio_problem(recording)
    if problem is not None:
        yield Problem(lang, prompt_id, f"{recording.name} is {problem}")
        return
    # (The hold audio is made from no text.)
    if text is not None and prompt_id != HOLD_AUDIO and _stale(recording, rendered, text):
        yield Problem(lang, prompt_id, f"{recording.name} was made from an older text "
                      "(run: ivr prompts render)")


def read_manifest(folder: Path) -> dict[str, dict[str, str]]:
    try:
        raw = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def write_manifest(folder: Path, manifest: Mapping[str, Mapping[str, str]]) -> None:
    text = json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    (folder / MANIFEST_FILE).write_text(text, encoding="utf-8")


def record_rendering(manifest: dict[str, dict[str, str]], prompt_id: str, made_from: str,
                     audio: bytes) -> None:
    """Remember a recording we made, and what from: its text, or for the hold audio a name."""
    manifest[prompt_id] = {"text": _digest(made_from.encode()), "audio": _digest(audio)}


def needs_rendering(folder: Path, prompt_id: str, text: str,
                    manifest: Mapping[str, Mapping[str, str]]) -> bool:
    """True when there is no good recording, or ours was made from another text."""
    recording = find_recording(folder, prompt_id)
    if recording is None or audio_problem(recording) is not None:
        return True
    return _stale(recording, manifest.get(prompt_id), text)  # a human recording is kept
