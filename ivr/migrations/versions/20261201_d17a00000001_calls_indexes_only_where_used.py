"""Calls indexed only where something looks: no index on the called number's digest (nothing
looks calls up by it), and the parent leg's index only for legs that have one

Every call's first webhook inserts a row in `calls`: each index on it is work for every call
at the busiest hour. A caller's own leg has no parent; only operators' legs and call backs do.

Revision ID: d17a00000001
Revises: d16a00000001
Create Date: 2026-12-01 16:10:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd17a00000001'
down_revision = 'd16a00000001'
branch_labels = None
depends_on = None

HAS_PARENT = sa.text("parent_call_sid IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_to_number_hash')
        batch_op.drop_index('ix_calls_parent_call_sid')
        batch_op.create_index('ix_calls_parent_call_sid', ['parent_call_sid'], unique=False,
                              postgresql_where=HAS_PARENT, sqlite_where=HAS_PARENT)


def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_parent_call_sid')
        batch_op.create_index('ix_calls_parent_call_sid', ['parent_call_sid'], unique=False)
        batch_op.create_index('ix_calls_to_number_hash', ['to_number_hash'], unique=False)
