"""Numbers blocked by supervisors, and bursts of calls they let be

Revision ID: b1b10c4ed001
Revises: f1a7c0de5e01
Create Date: 2026-12-01 01:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b1b10c4ed001'
down_revision = 'f1a7c0de5e01'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blocked_numbers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number_hash', sa.String(length=64), nullable=False),
    sa.Column('masked_number', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('blocked_by', sa.String(length=64), nullable=False),
    sa.Column('blocked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lifted_by', sa.String(length=64), nullable=True),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blocked_numbers'))
    )
    with op.batch_alter_table('blocked_numbers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_blocked_numbers_number_hash'), ['number_hash'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_blocked_numbers_until'), ['until'], unique=False)
    op.create_table('flag_dismissals',
    sa.Column('number_hash', sa.String(length=64), nullable=False),
    sa.Column('dismissed_by', sa.String(length=64), nullable=False),
    sa.Column('dismissed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('number_hash', name=op.f('pk_flag_dismissals'))
    )


def downgrade() -> None:
    op.drop_table('flag_dismissals')
    with op.batch_alter_table('blocked_numbers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_blocked_numbers_until'))
        batch_op.drop_index(batch_op.f('ix_blocked_numbers_number_hash'))
    op.drop_table('blocked_numbers')
