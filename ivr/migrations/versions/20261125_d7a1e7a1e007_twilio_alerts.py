"""Twilio's alerts, from its Debugger webhook

Revision ID: d7a1e7a1e007
Revises: c5a0e0a0e005
Create Date: 2026-11-25 11:50:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd7a1e7a1e007'
down_revision = 'c5a0e0a0e005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('twilio_alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('error_code', sa.String(length=16), nullable=True),
    sa.Column('resource_sid', sa.String(length=64), nullable=True),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_twilio_alerts')),
    sa.UniqueConstraint('sid', name=op.f('uq_twilio_alerts_sid'))
    )
    with op.batch_alter_table('twilio_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_twilio_alerts_at'), ['at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('twilio_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_twilio_alerts_at'))

    op.drop_table('twilio_alerts')
