"""Telegram: messages the bot answers outside a conversation, counted per minute

Revision ID: d16a00000001
Revises: d15e00000001
Create Date: 2026-12-01 11:15:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd16a00000001'
down_revision = 'd15e00000001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('telegram_chats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('minute_started_at', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('messages_this_minute', sa.Integer(),
                                      server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('telegram_chats', schema=None) as batch_op:
        batch_op.drop_column('messages_this_minute')
        batch_op.drop_column('minute_started_at')
