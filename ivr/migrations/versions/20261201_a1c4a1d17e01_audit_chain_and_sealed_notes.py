"""The audit log's hash chain, and operators' notes sealed like numbers

Revision ID: a1c4a1d17e01
Revises: c1a7f0e2b301
Create Date: 2026-12-01 01:30:00

Every entry already in the audit log is chained here, in id order, from the genesis hash:
the chain vouches for them from now on, not for what happened to them before.

Notes are sealed with PHONE_ENCRYPTION_KEYS, so this step needs the app's settings: run it
with `ivr db upgrade` (it stops, changing nothing, when there are notes and no keys).
A note that is sealed already (a run stopped half-way) is left as it is.
"""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1c4a1d17e01'
down_revision = 'c1a7f0e2b301'
branch_labels = None
depends_on = None

BATCH = 1000
GENESIS = "0" * 64
audit_log = sa.table(
    "audit_log", sa.column("id", sa.Integer), sa.column("at", sa.DateTime(timezone=True)),
    sa.column("operator_id", sa.Integer), sa.column("login", sa.String),
    sa.column("action", sa.String), sa.column("detail", sa.String),
    sa.column("address", sa.String), sa.column("hash", sa.String))
requests = sa.table("callback_requests", sa.column("id", sa.Integer),
                    sa.column("notes", sa.Text))


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _chain(op.get_bind())
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
    _convert_notes(op.get_bind(), seal=True)


def downgrade() -> None:
    _convert_notes(op.get_bind(), seal=False)
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('hash')


def _link(previous: str, row: Any) -> str:
    """As ivr.operators.audit.link was when this was written (copied: migrations are frozen)."""
    at: datetime = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    fields = [row.id, at.astimezone(UTC).isoformat(timespec="microseconds"), row.operator_id,
              row.login, row.action, row.detail, row.address]
    canonical = json.dumps(fields, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(f"{previous}:{canonical}".encode()).hexdigest()


def _chain(connection: sa.Connection) -> None:
    previous, after = GENESIS, -1
    while True:
        rows = connection.execute(sa.select(audit_log).where(audit_log.c.id > after)
                                  .order_by(audit_log.c.id).limit(BATCH)).all()
        if not rows:
            return
        for row in rows:
            previous = _link(previous, row)
            connection.execute(sa.update(audit_log).where(audit_log.c.id == row.id)
                               .values(hash=previous))
        after = rows[-1].id


def _convert_notes(connection: sa.Connection, seal: bool) -> None:
    rows = connection.execute(sa.select(requests.c.id, requests.c.notes)
                              .where(requests.c.notes.is_not(None))).all()
    if not rows:
        return
    vault = _vault()
    for row in rows:
        opened = vault.unseal(row.notes)
        if seal and opened is None:
            value = vault.seal(row.notes)
        elif not seal and opened is not None:
            value = opened
        else:
            continue
        connection.execute(sa.update(requests).where(requests.c.id == row.id)
                           .values(notes=value))


def _vault() -> Any:
    from flask import current_app, has_app_context

    if not has_app_context() or "ivr" not in current_app.extensions:
        raise RuntimeError("operators' notes are sealed with PHONE_ENCRYPTION_KEYS: "
                           "run this migration with `ivr db upgrade`")
    return current_app.extensions["ivr"].vault
