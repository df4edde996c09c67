"""Callback requests keep the caller's offset from UTC, told by the caller when their number
does not tell their time zone

Revision ID: d1a2b3c4d501
Revises: b1b10c4ed001
Create Date: 2026-12-01 01:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd1a2b3c4d501'
down_revision = 'b1b10c4ed001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('caller_utc_offset', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.drop_column('caller_utc_offset')
