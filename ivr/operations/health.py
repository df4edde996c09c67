"""Is the service alive, and is it ready for calls? For load balancers and orchestrators.

Neither answer carries a secret or anything about a caller: only check names and verdicts.
Neither is signed by Twilio, so anybody may ask.
"""

from __future__ import annotations

import logging
from functools import cache

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, Response, jsonify

from ivr import paths
from ivr.database import MIGRATIONS, unit_of_work
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
        with unit_of_work(hotline.engine) as session:
            connection = session.connection()
            connection.execute(sa.text("SELECT 1"))
            current = frozenset(MigrationContext.configure(connection).get_current_heads())
    except Exception as error:
        # The error's text may name the host or the user: it goes to the log, not the answer.
        log.warning("readiness: database unreachable", extra={"error": type(error).__name__})
        return {"database": "unreachable", "migrations": "unknown"}
    if current == script_heads():
        return {"database": OK, "migrations": OK}
    if not current:
        return {"database": OK, "migrations": "not applied (run: ivr db upgrade)"}
    return {"database": OK, "migrations": "not at head (run: ivr db upgrade)"}


def prompts_check(hotline: Hotline) -> str:
    loaded = bool(hotline.menu.languages) and bool(hotline.catalog.prompts)
    return OK if loaded else "not loaded"


def readiness(hotline: Hotline) -> dict[str, str]:
    return {**database_checks(hotline), "prompts": prompts_check(hotline)}


@bp.get(paths.HEALTHZ)
def healthz() -> Response:
    """Alive: the process answers. Touches nothing, so a database outage never restarts it."""
    return jsonify(status=OK)


@bp.get(paths.READYZ)
def readyz() -> tuple[Response, int]:
    checks = readiness(current_hotline())
    ready = all(verdict == OK for verdict in checks.values())
    return jsonify(status="ready" if ready else "not ready", checks=checks), 200 if ready else 503
