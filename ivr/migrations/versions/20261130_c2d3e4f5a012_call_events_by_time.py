"""Call events indexed by time alone (the unique key already finds a call's events)

Revision ID: c2d3e4f5a012
Revises: b1c2d3e4f011
Create Date: 2026-11-30 20:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c2d3e4f5a012'
down_revision = 'b1c2d3e4f011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('call_events', schema=None) as batch_op:
        batch_op.drop_index('ix_call_events_call_sid_at')
        batch_op.create_index('ix_call_events_at', ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('call_events', schema=None) as batch_op:
        batch_op.drop_index('ix_call_events_at')
        batch_op.create_index('ix_call_events_call_sid_at', ['call_sid', 'at'], unique=False)
