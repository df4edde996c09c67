"""Operators' presence (available, on a break, signed off, paused), wrap-up and missed rings

Revision ID: d14a00000001
Revises: a1c4a1d17e01
Create Date: 2026-12-01 04:30:00

`on_duty` keeps its meaning (on the roster); presence is what the person is doing now. So
that nobody who is rung today stops being rung by this upgrade, operators on duty start
`available`, everyone else `signed_off`.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd14a00000001'
down_revision = 'a1c4a1d17e01'
branch_labels = None
depends_on = None

operators = sa.table("operators", sa.column("on_duty", sa.Boolean),
                     sa.column("presence", sa.String))


def upgrade() -> None:
    with op.batch_alter_table('operators', schema=None) as batch_op:
        batch_op.add_column(sa.Column('presence', sa.String(length=16),
                                      server_default='signed_off', nullable=False))
        batch_op.add_column(sa.Column('presence_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('wrap_up_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('missed_rings', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_operators_presence'),
            "presence IN ('available', 'break', 'signed_off', 'paused')")
    op.execute(operators.update().where(operators.c.on_duty.is_(True))
               .values(presence="available"))


def downgrade() -> None:
    with op.batch_alter_table('operators', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_operators_presence'), type_='check')
        batch_op.drop_column('missed_rings')
        batch_op.drop_column('wrap_up_until')
        batch_op.drop_column('presence_at')
        batch_op.drop_column('presence')
