"""The request number each call's caller heard, kept with the call that made or renewed it

Revision ID: e3c0ca11e008
Revises: d7a1e7a1e007
Create Date: 2026-11-25 11:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e3c0ca11e008'
down_revision = 'd7a1e7a1e007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('callback_calls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=8), nullable=True))
        batch_op.create_index(batch_op.f('ix_callback_calls_reference'), ['reference'],
                              unique=False)
    # Calls stored before this revision told their caller the request's own number.
    op.execute("UPDATE callback_calls SET reference = (SELECT reference FROM callback_requests "
               "WHERE callback_requests.id = callback_calls.request_id)")


def downgrade() -> None:
    with op.batch_alter_table('callback_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_calls_reference'))
        batch_op.drop_column('reference')
