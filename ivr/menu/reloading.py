"""The menu and the prompts, reloaded without a restart when their files change.

Before a request, each process looks at the files' modification times, at most once every
`CHECK_EVERY` seconds (a clock read otherwise: this runs before every webhook). When they
changed, it loads and checks the new files; only if they are good does it swap them in, as a
new `Hotline` (a request keeps the one it started with). A broken file is logged once and the
old menu keeps answering calls. `ivr prompts reload` checks the files first and touches
`RELOAD_MARKER` so that a change the modification times would miss is picked up as well.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask

from ivr.menu.menu_file import Menu, load_menu
from ivr.menu.prompts import Catalog, load_catalog
from ivr.menu.twiml import Renderer
from ivr.services import Hotline
from ivr.settings import StartupError

log = logging.getLogger(__name__)
CHECK_EVERY = 3.0  # seconds
MENU_FILE = "menu.yaml"
RELOAD_MARKER = ".reload"

Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(root: Path, languages: tuple[str, ...]) -> Fingerprint:
    """Name, modification time and size of every file the menu and prompts are made of."""
    seen = [_stat(root / MENU_FILE), _stat(root / RELOAD_MARKER)]
    for lang in languages:
        try:
            with os.scandir(root / lang) as entries:
                seen += [_stat(Path(entry.path)) for entry in entries if entry.is_file()]
        except OSError:
            seen.append((str(root / lang), -1, -1))
    return tuple(sorted(seen))


def _stat(path: Path) -> tuple[str, int, int]:
    try:
        status = path.stat()
    except OSError:
        return str(path), -1, -1
    return str(path), status.st_mtime_ns, status.st_size


def load(root: Path) -> tuple[Menu, Catalog]:
    """Load and check the menu and prompts; StartupError (one line) if anything is wrong."""
    menu = load_menu(root / MENU_FILE)
    return menu, load_catalog(menu, root)


def request_reload(root: Path) -> None:
    """Tell every running process to load the files again (`ivr prompts reload`)."""
    (root / RELOAD_MARKER).write_text(datetime.now(UTC).isoformat() + "\n", encoding="utf-8")


class PromptsReloader:
    def __init__(self, app: Flask, root: Path) -> None:
        self.app = app
        self.root = root
        self._lock = threading.Lock()
        self._next_check = time.monotonic() + CHECK_EVERY
        self._seen = fingerprint(root, tuple(self._hotline().menu.languages))

    def _hotline(self) -> Hotline:
        hotline: Hotline = self.app.extensions["ivr"]
        return hotline

    def check(self) -> None:
        """Before each request: cheap unless it is time to look at the files."""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + CHECK_EVERY
        if self._lock.acquire(blocking=False):  # another thread is already looking
            try:
                self.reload_if_changed()
            finally:
                self._lock.release()

    def reload_if_changed(self) -> bool:
        hotline = self._hotline()
        seen = fingerprint(self.root, tuple(hotline.menu.languages))
        if seen == self._seen:
            return False
        # Whether or not the files are good, this state is dealt with: a broken file is
        # reported once, not every few seconds.
        self._seen = seen
        try:
            menu, catalog = load(self.root)
        except StartupError as error:
            log.error("prompts not reloaded, the loaded ones stay in use: %s", error)
            return False
        except Exception:
            log.exception("prompts not reloaded, the loaded ones stay in use")
            return False
        self.app.extensions["ivr"] = dataclasses.replace(
            hotline, menu=menu, catalog=catalog, renderer=Renderer(menu, catalog))
        self._seen = fingerprint(self.root, tuple(menu.languages))
        log.info("prompts reloaded", extra={"languages": list(menu.languages)})
        return True
