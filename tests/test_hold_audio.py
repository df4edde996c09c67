"""A caller on hold hears calm music that a phone line carries all the way: never a silence
that sounds like a dropped call."""

from __future__ import annotations

import json
import math
import shutil
import wave
from pathlib import Path

import pytest
from click.testing import CliRunner

from ivr.cli import make_cli
from ivr.menu import synthesis
from ivr.menu.prompts import HOLD_AUDIO
from ivr.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "prompts"
LANGUAGES = ("ru", "uk", "en")
FRAME_SECONDS = 0.05
QUIET = -40.0  # dBFS in the telephone band
needs_tools = pytest.mark.skipif(not (shutil.which("espeak-ng") and shutil.which("sox")),
                                 reason="espeak-ng and sox are not installed")


def read_wav(path: Path) -> tuple[tuple[int, int, int], list[float]]:
    """(channels, bytes a sample, samples a second), and the samples from -1 to 1."""
    with wave.open(str(path)) as audio:
        form = (audio.getnchannels(), audio.getsampwidth(), audio.getframerate())
        frames = audio.readframes(audio.getnframes())
    assert form[1] == 2, "16-bit"
    return form, [value / 32768 for value in memoryview(frames).cast("h")]


def butterworth(samples: list[float], kind: str, corner: float, rate: int) -> list[float]:
    """A 4th-order Butterworth high- or low-pass: two biquads (the audio EQ cookbook's)."""
    for q in (0.5412, 1.3066):
        w0 = 2 * math.pi * corner / rate
        cos, alpha = math.cos(w0), math.sin(w0) / (2 * q)
        edge = (1 + cos) / 2 if kind == "high" else (1 - cos) / 2
        middle = -(1 + cos) if kind == "high" else 1 - cos
        a0 = 1 + alpha
        b0, b1, b2, a1, a2 = edge / a0, middle / a0, edge / a0, -2 * cos / a0, (1 - alpha) / a0
        x1 = x2 = y1 = y2 = 0.0
        filtered = []
        for x in samples:
            y = b0 * x + b1 * x1 + b2 * x2 - a1 * y1 - a2 * y2
            x2, x1, y2, y1 = x1, x, y1, y
            filtered.append(y)
        samples = filtered
    return samples


def telephone_band(samples: list[float], rate: int) -> list[float]:
    return butterworth(butterworth(samples, "high", 300, rate), "low", 3400, rate)


def frame_levels(samples: list[float], rate: int) -> list[float]:
    """dBFS of each 50 ms frame."""
    size = int(rate * FRAME_SECONDS)
    levels = []
    for start in range(0, len(samples) - size + 1, size):
        power = sum(value * value for value in samples[start:start + size]) / size
        levels.append(10 * math.log10(power) if power > 0 else -math.inf)
    return levels


def longest_quiet_stretch(levels: list[float]) -> float:
    longest = current = 0
    for level in levels:
        current = current + 1 if level < QUIET else 0
        longest = max(longest, current)
    return longest * FRAME_SECONDS


@pytest.mark.parametrize("lang", LANGUAGES)
def test_hold_audio_is_telephone_audio_of_about_twenty_seconds(lang: str) -> None:
    form, samples = read_wav(SHIPPED / lang / f"{HOLD_AUDIO}.wav")

    assert form == (1, 2, 8000)
    assert 18 <= len(samples) / 8000 <= 22


@pytest.mark.parametrize("lang", LANGUAGES)
def test_hold_audio_is_never_silent_on_a_phone_line_for_more_than_a_second(lang: str) -> None:
    (_, _, rate), samples = read_wav(SHIPPED / lang / f"{HOLD_AUDIO}.wav")
    band = telephone_band(samples, rate)

    assert longest_quiet_stretch(frame_levels(band, rate)) <= 1.0
    # What it has to say is inside the band a phone line carries, not below or above it.
    assert sum(v * v for v in band) >= 0.9 * sum(v * v for v in samples)


def test_a_silence_on_the_line_is_caught() -> None:
    """The measure itself: a second and a half of a low hum (below the band) is too quiet."""
    rate = 8000
    hum = [0.5 * math.sin(2 * math.pi * 100 * i / rate) for i in range(int(1.5 * rate))]
    tone = [0.1 * math.sin(2 * math.pi * 1000 * i / rate) for i in range(rate)]

    levels = frame_levels(telephone_band(tone + hum + tone, rate), rate)

    assert longest_quiet_stretch(levels) >= 1.3


def test_every_language_plays_the_same_hold_audio_and_render_can_make_it_again() -> None:
    made = synthesis.hold_audio()

    for lang in LANGUAGES:
        assert (SHIPPED / lang / f"{HOLD_AUDIO}.wav").read_bytes() == made, lang
        rendered = json.loads((SHIPPED / lang / "rendered.json").read_text())
        assert HOLD_AUDIO in rendered  # so `ivr prompts check` knows it was machine-made


@needs_tools
def test_render_makes_the_hold_audio_and_never_speaks_its_text(tmp_path: Path) -> None:
    prompts_dir = Path(shutil.copytree(SHIPPED, tmp_path / "prompts"))
    (prompts_dir / "en" / f"{HOLD_AUDIO}.wav").unlink()
    texts = prompts_dir / "uk" / "texts.yaml"
    texts.write_text(texts.read_text().replace("  hold_music: \"", "  hold_music: \"Ну ж бо. "))
    env = {"PROMPTS_DIR": str(prompts_dir)}

    result = CliRunner().invoke(make_cli(), ["prompts", "render"], env=env)

    assert result.output.splitlines() == ["en/hold_music.wav", "1 recording(s) made"]
    assert (prompts_dir / "en" / f"{HOLD_AUDIO}.wav").read_bytes() == synthesis.hold_audio()
    assert (prompts_dir / "uk" / f"{HOLD_AUDIO}.wav").read_bytes() == synthesis.hold_audio()
    check = CliRunner().invoke(make_cli(), ["prompts", "check"], env=env)
    assert check.exit_code == 0, check.output
