"""`ivr prompts render`: recordings made from the texts with espeak-ng, until real voices
replace them, and the hold audio. A human recording is never overwritten unless asked
(--force)."""

from __future__ import annotations

import array
import functools
import io
import math
import shutil
import subprocess
import sys
import tempfile
import wave
from collections.abc import Callable, Iterable
from pathlib import Path

from ivr.menu.menu_file import Menu, MenuError
from ivr.menu.prompts import (
    HOLD_AUDIO,
    audio_problem,
    find_recording,
    load_texts,
    machine_made,
    needs_rendering,
    read_manifest,
    record_rendering,
    write_manifest,
)
from ivr.settings import StartupError

# espeak-ng's names where they differ from the language's primary subtag.
ESPEAK_VOICES = {"en-US": "en-us", "en-GB": "en-gb", "pt-BR": "pt-br"}
TOOLS = ("espeak-ng", "sox")
# Words a minute: quicker than espeak-ng's 150 we had, still clear on a phone line.
SPEED = 170
# Silence kept after the words, so that prompts played one after another do not run together.
PAUSE_AFTER = 0.15
# What rendered.json says the hold audio was made from (it has no text).
HOLD_AUDIO_MADE_FROM = "synthesis.hold_audio"
RATE = 8000  # telephone sampling rate, samples a second


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
    hold = hold_audio()
    for lang in languages:
        folder = root / lang
        texts = load_texts(root, lang, menu)
        manifest = read_manifest(folder)
        voice = ESPEAK_VOICES.get(menu.languages[lang].say_language, lang)
        # Texts the menu does not use yet get recordings too, ready for a menu that will.
        wanted = menu.prompt_ids() | set(texts)
        for prompt_id in sorted(wanted):
            if prompt_id == HOLD_AUDIO:
                made_from, audio = HOLD_AUDIO_MADE_FROM, hold
                if not (force or _hold_audio_outdated(folder, manifest, hold)):
                    continue
            else:
                text = texts.get(prompt_id)
                if text is None or not (force or needs_rendering(folder, prompt_id, text,
                                                                 manifest)):
                    continue
                made_from, audio = text, synthesise(voice, text)
            (folder / f"{prompt_id}.wav").write_bytes(audio)
            record_rendering(manifest, prompt_id, made_from, audio)
            echo(f"{lang}/{prompt_id}.wav")
            made += 1
        for gone in set(manifest) - wanted:
            del manifest[gone]
        write_manifest(folder, manifest)
    return made


def _hold_audio_outdated(folder: Path, manifest: dict[str, dict[str, str]],
                         hold: bytes) -> bool:
    """No good hold audio, or ours but not what hold_audio makes now."""
    recording = find_recording(folder, HOLD_AUDIO)
    if recording is None or audio_problem(recording) is not None:
        return True
    return machine_made(folder, HOLD_AUDIO, manifest) and recording.read_bytes() != hold


def synthesise(voice: str, text: str) -> bytes:
    """8 kHz 16-bit mono WAV: telephone quality, a fifth of espeak-ng's own output."""
    with tempfile.TemporaryDirectory() as scratch:
        spoken, phone = Path(scratch) / "spoken.wav", Path(scratch) / "phone.wav"
        _run(["espeak-ng", "-v", voice, "-s", str(SPEED), "-b", "1", "-w", str(spoken)], text)
        # -D: no dither, so the same text always gives the same file. The silence effects cut
        # espeak-ng's silence before and after the words (a caller waits through every bit).
        _run(["sox", "-D", str(spoken), "-r", str(RATE), "-c", "1", "-b", "16", str(phone),
              "silence", "1", "0.01", "0.1%", "reverse", "silence", "1", "0.01", "0.1%",
              "reverse", "pad", "0", str(PAUSE_AFTER)])
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


# --- the hold audio -------------------------------------------------------------------------
# A soft music box over a quiet chord: every tone inside the telephone band (300-3,400 Hz),
# so a phone line carries all of it, and the chord never stops, so a caller never hears a
# silence that sounds like a dropped call. Pure Python, so the same bytes on every machine.
HOLD_SECONDS = 20
# A major pentatonic, from A4 (440 Hz) up: well inside the band, where a phone line is clearest.
NOTES = {"A4": 440.0, "B4": 493.88, "C#5": 554.37, "E5": 659.26, "F#5": 739.99, "A5": 880.0,
         "B5": 987.77}
# Four bars of eight notes, 0.625 s each: 20 seconds, then it starts again.
MELODY = (
    "C#5", "E5", "F#5", "A5", "F#5", "E5", "C#5", "E5",
    "C#5", "E5", "F#5", "A5", "B5", "A5", "F#5", "E5",
    "A5", "F#5", "E5", "C#5", "B4", "C#5", "E5", "F#5",
    "C#5", "E5", "F#5", "E5", "C#5", "B4", "A4", "C#5",
)
CHORD = (NOTES["A4"], NOTES["E5"])
TOP = 3400.0  # Hz: the top of the telephone band; no harmonic above it


@functools.cache
def hold_audio() -> bytes:
    """About 20 s of calm hold audio: 8 kHz 16-bit mono WAV, the same bytes every time."""
    total = HOLD_SECONDS * RATE
    note_length = total // len(MELODY)
    samples = [_chord(i) for i in range(total)]
    for index, name in enumerate(MELODY):
        start = index * note_length
        # A note rings on into the next one, as a music box's does.
        for offset, value in enumerate(_note(NOTES[name], note_length * 2)):
            samples[(start + offset) % total] += value
    fade = RATE // 10  # 0.1 s in and out, so the loop back to the start does not click
    frames = array.array("h", (
        round(max(-1.0, min(1.0, value * min(1.0, (i + 1) / fade, (total - i) / fade))) * 32767)
        for i, value in enumerate(samples)))
    if sys.byteorder == "big":
        frames.byteswap()  # WAV is little-endian
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(frames.tobytes())
    return buffer.getvalue()


def _chord(i: int) -> float:
    """The quiet chord underneath, swelling slowly (once every ten seconds)."""
    angle = 2 * math.pi * i / RATE
    swell = 0.8 + 0.2 * math.sin(angle / 10)
    low, high = CHORD
    return swell * 0.05 * (math.sin(angle * low) + math.sin(angle * high))


def _note(frequency: float, length: int) -> list[float]:
    """A soft triangle-like tone (odd harmonics, none above the band), struck then fading."""
    harmonics = [(n, (-1) ** (n // 2) / n ** 2) for n in (1, 3, 5) if n * frequency < TOP]
    step = 2 * math.pi * frequency / RATE
    return [envelope * sum(weight * math.sin(n * step * i) for n, weight in harmonics)
            for i, envelope in enumerate(_envelope(length))]


@functools.cache
def _envelope(length: int) -> tuple[float, ...]:
    """How loud a note is over time: eased in and out so that it never clicks, and fading."""
    ease = RATE // 25  # 40 ms
    return tuple(0.22 * math.sin(math.pi / 2 * min(1.0, i / ease, (length - i) / ease)) ** 2
                 * math.exp(-2.5 * i / RATE) for i in range(length))
