"""Chats: when the person's page was last seen (the channel came with the Telegram bot)

Revision ID: d15e00000001
Revises: d15d00000002
Create Date: 2026-12-01 05:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd15e00000001'
down_revision = 'd15d00000002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('chat_conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('chat_conversations', schema=None) as batch_op:
        batch_op.drop_column('seen_at')
