"""Calls and call events: the call log, with callers' numbers encrypted and hashed

Revision ID: efc801df1ed9
Revises:
Create Date: 2026-11-25 04:53:02.143393

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'efc801df1ed9'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('call_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('parent_call_sid', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('node', sa.String(length=32), nullable=True),
    sa.Column('digits', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=True),
    sa.Column('sequence_number', sa.Integer(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=80), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_call_events')),
    sa.UniqueConstraint('call_sid', 'dedupe_key', name=op.f('uq_call_events_call_sid_dedupe_key'))
    )
    with op.batch_alter_table('call_events', schema=None) as batch_op:
        batch_op.create_index('ix_call_events_call_sid_at', ['call_sid', 'at'], unique=False)

    op.create_table('calls',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('parent_call_sid', sa.String(length=64), nullable=True),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('from_number', sa.String(length=255), nullable=True),
    sa.Column('from_number_hash', sa.String(length=64), nullable=True),
    sa.Column('to_number', sa.String(length=255), nullable=True),
    sa.Column('to_number_hash', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calls')),
    sa.UniqueConstraint('call_sid', name=op.f('uq_calls_call_sid'))
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calls_from_number_hash'), ['from_number_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_parent_call_sid'), ['parent_call_sid'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_calls_to_number_hash'), ['to_number_hash'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calls_to_number_hash'))
        batch_op.drop_index(batch_op.f('ix_calls_started_at'))
        batch_op.drop_index(batch_op.f('ix_calls_parent_call_sid'))
        batch_op.drop_index(batch_op.f('ix_calls_from_number_hash'))

    op.drop_table('calls')
    with op.batch_alter_table('call_events', schema=None) as batch_op:
        batch_op.drop_index('ix_call_events_call_sid_at')

    op.drop_table('call_events')
