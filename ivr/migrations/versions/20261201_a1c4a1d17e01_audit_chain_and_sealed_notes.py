"""The audit log's hash chain

Revision ID: a1c4a1d17e01
Revises: c2d3e4f5a012
Create Date: 2026-12-01 01:30:00

Every entry already in the audit log is chained here, in id order, from the genesis hash:
the chain vouches for them from now on, not for what happened to them before.
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
down_revision = 'c2d3e4f5a012'
branch_labels = None
depends_on = None

BATCH = 1000
GENESIS = "0" * 64
audit_log = sa.table(
    "audit_log", sa.column("id", sa.Integer), sa.column("at", sa.DateTime(timezone=True)),
    sa.column("operator_id", sa.Integer), sa.column("login", sa.String),
    sa.column("action", sa.String), sa.column("detail", sa.String),
    sa.column("address", sa.String), sa.column("hash", sa.String))


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    _chain(op.get_bind())
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
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

