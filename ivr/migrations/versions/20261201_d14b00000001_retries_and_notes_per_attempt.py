"""Call-backs that respect the caller: the next try after "no answer", the tries of the
current round, a supervisor's decision awaited; notes kept per attempt

Revision ID: d14b00000001
Revises: d14a00000001
Create Date: 2026-12-01 04:30:00

A request's single note (sealed already, under PHONE_ENCRYPTION_KEYS) becomes its first row
in callback_notes as it is: copied sealed, never opened, so this step needs no keys. Its
author is unknown (operator_id NULL), its time the request's last change. Requests of
callers who hung up in the operators' queue (their first call's log says `queue:abandoned`)
get the reason `queue_hangup`, told apart from a request abandoned while being taken.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd14b00000001'
down_revision = 'd14a00000001'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

requests = sa.table("callback_requests", sa.column("id", sa.Integer),
                    sa.column("notes", sa.Text), sa.column("updated_at", sa.DateTime(timezone=True)),
                    sa.column("reason", sa.String), sa.column("first_call_sid", sa.String))
notes = sa.table("callback_notes", sa.column("id", sa.Integer),
                 sa.column("request_id", sa.Integer), sa.column("attempt_id", sa.Integer),
                 sa.column("operator_id", sa.Integer), sa.column("at", sa.DateTime(timezone=True)),
                 sa.column("text", sa.Text))
events = sa.table("call_events", sa.column("call_sid", sa.String), sa.column("outcome", sa.String))


def _drop_columns(*names: str) -> None:
    """ALTER TABLE ... DROP COLUMN, on PostgreSQL and SQLite (3.35 and later) alike: a batch
    would rebuild callback_requests, which the rows of callback_calls and callback_attempts
    point at (SQLite's foreign keys are on, and cannot be turned off inside a migration)."""
    for name in names:
        op.execute(f"ALTER TABLE callback_requests DROP COLUMN {name}")


def upgrade() -> None:
    op.create_table(
        'callback_notes',
        sa.Column('id', BIG_ID, nullable=False),
        sa.Column('request_id', BIG_ID, nullable=False),
        sa.Column('attempt_id', BIG_ID, nullable=True),
        sa.Column('operator_id', BIG_ID, nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['attempt_id'], ['callback_attempts.id'],
                                name=op.f('fk_callback_notes_attempt_id_callback_attempts')),
        sa.ForeignKeyConstraint(['operator_id'], ['operators.id'],
                                name=op.f('fk_callback_notes_operator_id_operators')),
        sa.ForeignKeyConstraint(['request_id'], ['callback_requests.id'],
                                name=op.f('fk_callback_notes_request_id_callback_requests')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_notes')),
    )
    with op.batch_alter_table('callback_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_callback_notes_request_id'), ['request_id'],
                              unique=False)
    connection = op.get_bind()
    connection.execute(notes.insert().from_select(
        ["request_id", "at", "text"],
        sa.select(requests.c.id, requests.c.updated_at, requests.c.notes)
        .where(requests.c.notes.is_not(None))))
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_try_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('tries_in_round', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('decision_since', sa.DateTime(timezone=True),
                                      nullable=True))
    _drop_columns('notes')
    hung_up_in_queue = sa.select(events.c.call_sid).where(events.c.outcome == "queue:abandoned")
    connection.execute(requests.update().where(
        requests.c.reason == "abandoned", requests.c.first_call_sid.in_(hung_up_in_queue))
        .values(reason="queue_hangup"))


def downgrade() -> None:
    connection = op.get_bind()
    connection.execute(requests.update().where(requests.c.reason == "queue_hangup")
                       .values(reason="abandoned"))
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('notes', sa.Text(), nullable=True))
    _drop_columns('decision_since', 'tries_in_round', 'next_try_at')
    # The newest note of each request becomes its single note again (the others are lost).
    newest = (sa.select(notes.c.text).where(notes.c.request_id == requests.c.id)
              .order_by(notes.c.at.desc(), notes.c.id.desc()).limit(1).scalar_subquery())
    connection.execute(requests.update().values(notes=newest))
    with op.batch_alter_table('callback_notes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_callback_notes_request_id'))
    op.drop_table('callback_notes')
