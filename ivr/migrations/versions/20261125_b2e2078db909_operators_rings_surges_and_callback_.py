"""Operators, rings, surges and callback requests (numbers encrypted, one open request each)

Revision ID: b2e2078db909
Revises: efc801df1ed9
Create Date: 2026-11-25 06:19:23.561218

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b2e2078db909'
down_revision = 'efc801df1ed9'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('callback_drafts',
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('number', sa.String(length=255), nullable=False),
    sa.Column('number_source', sa.String(length=16), nullable=False),
    sa.Column('number_confirmed', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('may_identify', sa.Boolean(), nullable=False),
    sa.Column('safe_window', sa.String(length=8), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('call_sid', name=op.f('pk_callback_drafts'))
    )
    op.create_table('callback_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reference', sa.String(length=8), nullable=False),
    sa.Column('number', sa.String(length=255), nullable=False),
    sa.Column('number_hash', sa.String(length=64), nullable=False),
    sa.Column('number_source', sa.String(length=16), nullable=False),
    sa.Column('number_confirmed', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('may_identify', sa.Boolean(), nullable=False),
    sa.Column('safe_window', sa.String(length=8), nullable=True),
    sa.Column('caller_timezone', sa.String(length=64), nullable=True),
    sa.Column('first_call_sid', sa.String(length=64), nullable=False),
    sa.Column('last_call_sid', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('recording_sid', sa.String(length=64), nullable=True),
    sa.Column('recording_duration', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_requests'))
    )
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.create_index('ix_callback_requests_queue', ['status', 'priority', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_callback_requests_reference'), ['reference'], unique=False)
        batch_op.create_index('uq_callback_requests_open_number', ['number_hash'], unique=True, sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))

    op.create_table('operators',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('languages', sa.String(length=64), nullable=False),
    sa.Column('phone_number', sa.String(length=255), nullable=False),
    sa.Column('phone_number_hash', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('on_duty', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_rung_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('operator', 'supervisor')", name=op.f('ck_operators_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operators')),
    sa.UniqueConstraint('login', name=op.f('uq_operators_login'))
    )
    with op.batch_alter_table('operators', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operators_phone_number_hash'), ['phone_number_hash'], unique=False)

    op.create_table('recordings',
    sa.Column('recording_sid', sa.String(length=64), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('recording_sid', name=op.f('pk_recordings'))
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recordings_call_sid'), ['call_sid'], unique=False)

    op.create_table('surges',
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('language', name=op.f('pk_surges'))
    )
    op.create_table('callback_calls',
    sa.Column('call_sid', sa.String(length=64), nullable=False),
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['callback_requests.id'], name=op.f('fk_callback_calls_request_id_callback_requests')),
    sa.PrimaryKeyConstraint('call_sid', name=op.f('pk_callback_calls'))
    )
    with op.batch_alter_table('callback_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_calls_request_id'), ['request_id'], unique=False)

    op.create_table('operator_rings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('operator_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('caller_call_sid', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_operator_rings_operator_id_operators')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_rings')),
    sa.UniqueConstraint('call_sid', name=op.f('uq_operator_rings_call_sid'))
    )
    with op.batch_alter_table('operator_rings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_operator_rings_operator_id'), ['operator_id'], unique=False)
        batch_op.create_index('uq_operator_rings_live', ['operator_id'], unique=True, sqlite_where=sa.text("status IN ('ringing', 'connected')"), postgresql_where=sa.text("status IN ('ringing', 'connected')"))



def downgrade() -> None:
    with op.batch_alter_table('operator_rings', schema=None) as batch_op:
        batch_op.drop_index('uq_operator_rings_live', sqlite_where=sa.text("status IN ('ringing', 'connected')"), postgresql_where=sa.text("status IN ('ringing', 'connected')"))
        batch_op.drop_index(batch_op.f('ix_operator_rings_operator_id'))

    op.drop_table('operator_rings')
    with op.batch_alter_table('callback_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_calls_request_id'))

    op.drop_table('callback_calls')
    op.drop_table('surges')
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_call_sid'))

    op.drop_table('recordings')
    with op.batch_alter_table('operators', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_operators_phone_number_hash'))

    op.drop_table('operators')
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_callback_requests_open_number', sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
        batch_op.drop_index(batch_op.f('ix_callback_requests_reference'))
        batch_op.drop_index('ix_callback_requests_queue')

    op.drop_table('callback_requests')
    op.drop_table('callback_drafts')
