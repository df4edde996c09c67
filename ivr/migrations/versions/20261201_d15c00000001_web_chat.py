"""The website's chat: conversations and their sealed messages

Revision ID: d15c00000001
Revises: d14b00000001
Create Date: 2026-12-01 04:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd15c00000001'
down_revision = 'd14b00000001'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('chat_conversations',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('operator_id', BIG_ID, nullable=True),
    sa.Column('request_id', BIG_ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'],
                            name=op.f('fk_chat_conversations_operator_id_operators')),
    sa.ForeignKeyConstraint(['request_id'], ['callback_requests.id'],
                            name=op.f('fk_chat_conversations_request_id_callback_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_conversations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_chat_conversations_token_hash'))
    )
    with op.batch_alter_table('chat_conversations', schema=None) as batch_op:
        batch_op.create_index('ix_chat_conversations_queue',
                              ['status', 'language', 'waiting_since'], unique=False)
        batch_op.create_index(batch_op.f('ix_chat_conversations_ended_at'), ['ended_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_chat_conversations_request_id'), ['request_id'],
                              unique=False)
    op.create_table('chat_messages',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('conversation_id', BIG_ID, nullable=False),
    sa.Column('author', sa.String(length=16), nullable=False),
    sa.Column('operator_id', BIG_ID, nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['chat_conversations.id'],
                            name=op.f('fk_chat_messages_conversation_id_chat_conversations')),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'],
                            name=op.f('fk_chat_messages_operator_id_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_chat_messages'))
    )
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_chat_messages_conversation_id'),
                              ['conversation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('chat_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_messages_conversation_id'))
    op.drop_table('chat_messages')
    with op.batch_alter_table('chat_conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_chat_conversations_request_id'))
        batch_op.drop_index(batch_op.f('ix_chat_conversations_ended_at'))
        batch_op.drop_index('ix_chat_conversations_queue')
    op.drop_table('chat_conversations')
