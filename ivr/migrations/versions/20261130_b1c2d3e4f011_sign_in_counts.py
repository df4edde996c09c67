"""Failed sign-ins counted per login and address, per login and per address

Revision ID: b1c2d3e4f011
Revises: a0b1c2d3e010
Create Date: 2026-11-30 18:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b1c2d3e4f011'
down_revision = 'a0b1c2d3e010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Empty at first: a count that starts is seeded from the audit log's recent failures.
    op.create_table('sign_in_counts',
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'login', 'address', name=op.f('pk_sign_in_counts'))
    )
    with op.batch_alter_table('sign_in_counts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_counts_window_start'), ['window_start'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sign_in_counts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_in_counts_window_start'))

    op.drop_table('sign_in_counts')
