"""An open callback request's number is its own: no two open requests share one

Revision ID: a0b1c2d3e010
Revises: f5e55101e009
Create Date: 2026-11-30 17:00:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a0b1c2d3e010'
down_revision = 'f5e55101e009'
branch_labels = None
depends_on = None

OPEN = "status = 'open'"


def upgrade() -> None:
    connection = op.get_bind()
    _give_shared_numbers_their_own(connection)
    op.create_index('uq_callback_requests_open_reference', 'callback_requests', ['reference'],
                    unique=True, sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def downgrade() -> None:
    op.drop_index('uq_callback_requests_open_reference', table_name='callback_requests',
                  sqlite_where=sa.text(OPEN), postgresql_where=sa.text(OPEN))


def _give_shared_numbers_their_own(connection: sa.Connection) -> None:
    """Open requests that share a number (six random digits can meet) keep the first one's;
    each of the others gets a new one. The number its callers heard stays with their calls,
    so a caller who quotes it still finds their request."""
    taken = set(connection.scalars(sa.text(
        "SELECT reference FROM callback_requests WHERE status = 'open'")))
    shared = connection.execute(sa.text(
        "SELECT id, reference FROM callback_requests r WHERE r.status = 'open' AND EXISTS ("
        "SELECT 1 FROM callback_requests o WHERE o.status = 'open' "
        "AND o.reference = r.reference AND o.id < r.id) ORDER BY id")).all()
    for request_id, reference in shared:
        connection.execute(sa.text(
            "UPDATE callback_calls SET reference = :reference WHERE request_id = :id "
            "AND reference IS NULL"), {"reference": reference, "id": request_id})
        new = reference
        while new in taken:
            new = f"{secrets.randbelow(900_000) + 100_000}"
        taken.add(new)
        connection.execute(sa.text("UPDATE callback_requests SET reference = :new WHERE id = :id"),
                           {"new": new, "id": request_id})
