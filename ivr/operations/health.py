"""Is the service alive, and is it ready for calls? For load balancers and orchestrators.

Neither answer carries a secret or anything about a caller: only check names and verdicts.
Neither is signed by Twilio, so anybody may ask.
"""

from __future__ import annotations

import logging
import os
from functools import cache

from alembic.script import ScriptDirectory
from flask import Blueprint, Response, jsonify

from ivr import paths
from ivr.database import MIGRATIONS, migrations_applied
from ivr.services import Hotline, current_hotline

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)
OK = "ok"


@cache
def script_heads() -> frozenset[str]:
    """The revisions the code expects (read once: they change only with a deployment)."""
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def database_checks(hotline: Hotline) -> dict[str, str]:
    """Whether the database answers, and whether its schema is the one the code expects."""
    try:
        current = frozenset(migrations_applied(hotline.engine))
    except Exception as error:
        # The error's text may name the host or the user: it goes to the log, not the answer.
        log.warning("readiness: database unreachable", extra={"error": type(error).__name__})
        return {"database": "unreachable", "migrations": "unknown"}
    if current == script_heads():
        return {"database": OK, "migrations": OK}
    if not current:
        return {"database": OK, "migrations": "not applied (run: ivr db upgrade)"}
    return {"database": OK, "migrations": "not at head (run: ivr db upgrade)"}


def database_file_check(hotline: Hotline) -> str:
    """For SQLite: whether the file our connections write to is still the one at its path.
    Deleted or replaced while we serve, writes would go on into a file nobody will read."""
    engine = hotline.engine
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:":
        return OK
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return "the database file is gone (restart after restoring it)"
    except OSError as error:
        return f"the database file cannot be read ({error.strerror})"
    opened = _opened(os.path.realpath(path))
    if opened and (on_disk.st_dev, on_disk.st_ino) not in opened:
        return "the database file was replaced (restart to use the new one)"
    return OK


def _opened(path: str) -> set[tuple[int, int]]:
    """(device, inode) of each file this process holds open under `path` (Linux's /proc)."""
    found: set[tuple[int, int]] = set()
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return found
    for descriptor in descriptors:
        try:
            target = os.readlink(f"/proc/self/fd/{descriptor}")
            if target.removesuffix(" (deleted)") == path:
                status = os.fstat(int(descriptor))
                found.add((status.st_dev, status.st_ino))
        except OSError:
            continue
    return found


def spool_check(hotline: Hotline) -> str:
    """Whether this instance could keep a callback request on disk should the database go."""
    writer = hotline.callback_requests
    problem = writer.spool.problem()
    if problem is not None:
        return f"SPOOL_DIR: {problem}"
    if writer.held():
        return (f"{writer.held()} callback operation(s) held in memory: neither the database "
                "nor the spool takes them")
    return OK


def prompts_check(hotline: Hotline) -> str:
    loaded = bool(hotline.menu.languages) and bool(hotline.catalog.prompts)
    return OK if loaded else "not loaded"


def readiness(hotline: Hotline) -> dict[str, str]:
    checks = database_checks(hotline)  # first: it opens the connection the file check reads
    return {**checks, "database_file": database_file_check(hotline),
            "spool": spool_check(hotline), "prompts": prompts_check(hotline)}


@bp.get(paths.HEALTHZ)
def healthz() -> Response:
    """Alive: the process answers. Touches nothing, so a database outage never restarts it."""
    return jsonify(status=OK)


def periodic_check(hotline: Hotline) -> dict[str, str]:
    """The periodic jobs that have fallen behind (`ivr periodic` stopped, or failing)."""
    from ivr.operations import periodic  # it runs the app's jobs: only when asked

    try:
        return periodic.stale_jobs(hotline)
    except Exception as error:  # the database check above already says why
        log.warning("readiness: periodic jobs unknown", extra={"error": type(error).__name__})
        return {}


@bp.get(paths.READYZ)
def readyz() -> tuple[Response, int]:
    hotline = current_hotline()
    checks = readiness(hotline)
    ready = all(verdict == OK for verdict in checks.values())
    answer: dict[str, object] = {"status": "ready" if ready else "not ready", "checks": checks}
    behind = periodic_check(hotline)
    if behind:
        # Callers are still answered: degraded, never a reason to take the instance away.
        answer["periodic"] = behind
        if ready:
            answer["status"] = "degraded"
    return jsonify(answer), 200 if ready else 503
