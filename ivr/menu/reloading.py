"""The menu and the prompts, reloaded without a restart when their files change.

Before a request, each process looks at the files' modification times, at most once every
`CHECK_EVERY` seconds (a clock read otherwise: this runs before every webhook). When they
changed, it loads and checks the new files; only if they are good does it swap them in, as a
new `Hotline` (a request keeps the one it started with). A broken file is logged once and the
old menu keeps answering calls. `ivr prompts reload` checks the files first and touches
`RELOAD_MARKER` so that a change the modification times would miss is picked up as well.

The marker is runtime state, so it is kept out of the sources: in SPOOL_DIR, the folder each
instance is sure to be able to write (production does not start without it), which the
service and the command both read from the same settings. Only where SPOOL_DIR cannot be
written does the command leave `FALLBACK_MARKER` in the prompts folder instead, where the
service looks as well.
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
RELOAD_MARKER = "prompts.reload"  # in SPOOL_DIR
FALLBACK_MARKER = ".reload"  # in the prompts folder, when SPOOL_DIR cannot be written

Fingerprint = tuple[tuple[str, int, int], ...]


def markers(root: Path, runtime: Path) -> tuple[Path, Path]:
    """Where `ivr prompts reload` leaves its marker for the service that serves the prompts
    in `root` and keeps its runtime state in `runtime` (SPOOL_DIR), and where else if not."""
    return runtime / RELOAD_MARKER, root / FALLBACK_MARKER


def fingerprint(root: Path, languages: tuple[str, ...], runtime: Path) -> Fingerprint:
    """Name, modification time and size of every file the menu and prompts are made of, and
    of the reload markers."""
    seen = [_stat(root / MENU_FILE), *(_stat(marker) for marker in markers(root, runtime))]
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


def request_reload(root: Path, runtime: Path) -> Path:
    """Tell every running process to load the files again (`ivr prompts reload`); returns
    the marker written. OSError if neither place can be written."""
    stamp = datetime.now(UTC).isoformat() + "\n"
    marker, fallback = markers(root, runtime)
    try:
        if not runtime.exists():  # a new instance's, before anything was spooled
            runtime.mkdir(mode=0o700, parents=True)
        marker.write_text(stamp, encoding="utf-8")
    except OSError:
        if not _written(fallback, stamp):
            raise
        return fallback
    return marker


def _written(path: Path, text: str) -> bool:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError:
        return False
    return True


class PromptsReloader:
    def __init__(self, app: Flask, root: Path, runtime: Path) -> None:
        self.app = app
        self.root = root
        self.runtime = runtime
        self._lock = threading.Lock()
        self._next_check = time.monotonic() + CHECK_EVERY
        self._seen = self._fingerprint(tuple(self._hotline().menu.languages))

    def _fingerprint(self, languages: tuple[str, ...]) -> Fingerprint:
        return fingerprint(self.root, languages, self.runtime)

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
        seen = self._fingerprint(tuple(hotline.menu.languages))
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
        self._seen = self._fingerprint(tuple(menu.languages))
        log.info("prompts reloaded", extra={"languages": list(menu.languages)})
        return True
