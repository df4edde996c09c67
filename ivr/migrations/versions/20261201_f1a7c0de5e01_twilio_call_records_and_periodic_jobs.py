"""Calls remember when Twilio's record of them was deleted; periodic jobs and their leases

Revision ID: f1a7c0de5e01
Revises: e1a7c3d5f901
Create Date: 2026-12-01 01:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f1a7c0de5e01'
down_revision = 'e1a7c3d5f901'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('twilio_deleted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_calls_twilio_left', ['twilio_deleted_at', 'ended_at'],
                              unique=False)
    op.create_table(
        'periodic_jobs',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('holder', sa.String(length=64), nullable=True),
        sa.Column('held_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_success_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('periodic_jobs')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_twilio_left')
        batch_op.drop_column('twilio_deleted_at')
