"""Our own encrypted copy of each caller's message, and where fetching it stands

Revision ID: e1a7c3d5f901
Revises: c2d3e4f5a012
Create Date: 2026-12-01 01:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e1a7c3d5f901'
down_revision = 'c2d3e4f5a012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Messages already recorded are `pending`: the next fetch copies them, then deletes
    # them at Twilio.
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('copy_state', sa.String(length=16),
                                      server_default='pending', nullable=False))
        batch_op.add_column(sa.Column('copy_attempts', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('copy_error', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('copy_tried_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index(batch_op.f('ix_recordings_copy_state'), ['copy_state'],
                              unique=False)
    op.create_table('recording_copies',
    sa.Column('recording_sid', sa.String(length=64), nullable=False),
    sa.Column('audio', sa.Text(), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recording_sid'], ['recordings.recording_sid'],
                            name=op.f('fk_recording_copies_recording_sid_recordings')),
    sa.PrimaryKeyConstraint('recording_sid', name=op.f('pk_recording_copies'))
    )


def downgrade() -> None:
    op.drop_table('recording_copies')
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_copy_state'))
        batch_op.drop_column('copy_tried_at')
        batch_op.drop_column('copy_attempts')
        batch_op.drop_column('copy_error')
        batch_op.drop_column('copy_state')
