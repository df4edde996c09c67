"""The chat's words per language: `prompts/<lang>/chat.yaml`, then the menu's own texts.

A name in chat.yaml that is also a prompt of texts.yaml is that prompt as the chat writes it
("Talk to an operator now" where a call hears "An operator, press 1"); any other prompt of the
menu is written as texts.yaml says it. Files are read again when they change.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from ivr.menu.prompts import Catalog

CHAT_FILE = "chat.yaml"


class ChatTexts:
    def __init__(self, root: Path, catalog: Catalog) -> None:
        self.root = root
        self.catalog = catalog

    def get(self, lang: str, name: str, **values: object) -> str:
        text = own_texts(self.root / lang / CHAT_FILE).get(name)
        if text is None:
            prompt = self.catalog.prompts.get((lang, name))
            text = prompt.text if prompt is not None and prompt.text else name
        return text.format(**values) if values else text


def own_texts(path: Path) -> dict[str, str]:
    try:
        changed = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _read(path, changed)


@functools.lru_cache(maxsize=16)
def _read(path: Path, changed: int) -> dict[str, str]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    texts = raw.get("texts", {}) if isinstance(raw, dict) else {}
    return {str(name): str(text) for name, text in texts.items()} if isinstance(texts, dict) \
        else {}
