"""The operators' page: claims, notes and outcomes on requests, attempts, the audit log

Revision ID: c5a0e0a0e005
Revises: b2e2078db909
Create Date: 2026-11-25 11:38:27.374301

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c5a0e0a0e005'
down_revision = 'b2e2078db909'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', BigId, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('operator_id', BigId, nullable=True),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=24), nullable=False),
    sa.Column('request_id', BigId, nullable=True),
    sa.Column('detail', sa.String(length=200), nullable=True),
    sa.Column('address', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_audit_log_operator_id_operators')),
    sa.ForeignKeyConstraint(['request_id'], ['callback_requests.id'], name=op.f('fk_audit_log_request_id_callback_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    op.create_index('ix_audit_log_address_action_at', 'audit_log', ['address', 'action', 'at'])
    op.create_index(op.f('ix_audit_log_at'), 'audit_log', ['at'])
    op.create_index('ix_audit_log_login_action_at', 'audit_log', ['login', 'action', 'at'])
    op.create_index(op.f('ix_audit_log_request_id'), 'audit_log', ['request_id'])

    op.create_table('callback_attempts',
    sa.Column('id', BigId, nullable=False),
    sa.Column('request_id', BigId, nullable=False),
    sa.Column('operator_id', BigId, nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('call_sid', sa.String(length=64), nullable=True),
    sa.Column('operator_status', sa.String(length=16), nullable=True),
    sa.Column('caller_status', sa.String(length=16), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['operator_id'], ['operators.id'], name=op.f('fk_callback_attempts_operator_id_operators')),
    sa.ForeignKeyConstraint(['request_id'], ['callback_requests.id'], name=op.f('fk_callback_attempts_request_id_callback_requests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_attempts')),
    sa.UniqueConstraint('call_sid', name=op.f('uq_callback_attempts_call_sid'))
    )
    op.create_index(op.f('ix_callback_attempts_request_id'), 'callback_attempts', ['request_id'])

    # Plain ADD COLUMNs (no table rebuild on SQLite): the request table may be large.
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a column with its reference in one statement, or not at all.
        op.execute('ALTER TABLE callback_requests ADD COLUMN claimed_by INTEGER '
                   'CONSTRAINT fk_callback_requests_claimed_by_operators REFERENCES operators (id)')
    else:
        op.add_column('callback_requests', sa.Column('claimed_by', BigId, nullable=True))
        op.create_foreign_key('fk_callback_requests_claimed_by_operators', 'callback_requests',
                              'operators', ['claimed_by'], ['id'])
    op.add_column('callback_requests', sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('callback_requests', sa.Column('callback_attempts', sa.Integer(), server_default='0', nullable=False))
    op.add_column('callback_requests', sa.Column('notes', sa.Text(), nullable=True))
    op.add_column('callback_requests', sa.Column('outcome', sa.String(length=16), nullable=True))
    op.add_column('callback_requests', sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_callback_requests_closed_at'), 'callback_requests', ['closed_at'])
    op.create_index('ix_callback_requests_queue_language', 'callback_requests',
                    ['status', 'language', 'priority', 'created_at'])

    op.add_column('operators', sa.Column('page_language', sa.String(length=8), server_default='en', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('operators', schema=None) as batch_op:
        batch_op.drop_column('page_language')

    op.drop_index('ix_callback_requests_queue_language', 'callback_requests')
    op.drop_index(op.f('ix_callback_requests_closed_at'), 'callback_requests')
    if op.get_bind().dialect.name != 'sqlite':
        # (SQLite does not name the reference; the table rebuild below drops it with its column.)
        op.drop_constraint('fk_callback_requests_claimed_by_operators', 'callback_requests',
                           type_='foreignkey')
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
        batch_op.drop_column('outcome')
        batch_op.drop_column('notes')
        batch_op.drop_column('callback_attempts')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_by')

    op.drop_index(op.f('ix_callback_attempts_request_id'), 'callback_attempts')
    op.drop_table('callback_attempts')
    op.drop_index(op.f('ix_audit_log_request_id'), 'audit_log')
    op.drop_index('ix_audit_log_login_action_at', 'audit_log')
    op.drop_index(op.f('ix_audit_log_at'), 'audit_log')
    op.drop_index('ix_audit_log_address_action_at', 'audit_log')
    op.drop_table('audit_log')
