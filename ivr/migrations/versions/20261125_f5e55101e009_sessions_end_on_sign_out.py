"""Operators' sessions end on sign-out, on every device

Revision ID: f5e55101e009
Revises: e3c0ca11e008
Create Date: 2026-11-25 12:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f5e55101e009'
down_revision = 'e3c0ca11e008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('operators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sessions_ended_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('operators', schema=None) as batch_op:
        batch_op.drop_column('sessions_ended_at')
