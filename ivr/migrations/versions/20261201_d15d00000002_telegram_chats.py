"""The Telegram bot's people: their chat id encrypted beside its digest, and their journey

Revision ID: d15d00000002
Revises: d15d00000001
Create Date: 2026-12-01 05:01:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd15d00000002'
down_revision = 'd15d00000001'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('telegram_chats',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('chat_hash', sa.String(length=64), nullable=False),
    sa.Column('chat_id', sa.String(length=255), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('step', sa.String(length=24), nullable=False),
    sa.Column('node', sa.String(length=64), nullable=True),
    sa.Column('draft', sa.Text(), nullable=True),
    sa.Column('conversation_id', BIG_ID, nullable=True),
    sa.Column('delivered_id', sa.BigInteger(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('warned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['chat_conversations.id'],
                            name=op.f('fk_telegram_chats_conversation_id_chat_conversations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telegram_chats')),
    sa.UniqueConstraint('chat_hash', name=op.f('uq_telegram_chats_chat_hash'))
    )
    with op.batch_alter_table('telegram_chats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telegram_chats_conversation_id'),
                              ['conversation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_telegram_chats_updated_at'), ['updated_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('telegram_chats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telegram_chats_updated_at'))
        batch_op.drop_index(batch_op.f('ix_telegram_chats_conversation_id'))
    op.drop_table('telegram_chats')
