"""pending: the part of the day state that has not come due yet (m_pending), and the
working-day calendar (workdays)

Revision ID: 0009_pending
Revises: 0008_unit_integrity
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0009_pending'
down_revision: str | None = '0008_unit_integrity'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'm_pending',
        sa.Column('indicator', sa.String(length=96), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('due_day', sa.Date(), nullable=False),
        sa.Column('records', sa.BigInteger(), nullable=False),
        sa.Column('num', sa.Float(), nullable=False),
        sa.Column('den', sa.Float(), nullable=False),
        sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('indicator', 'unit', 'day', 'due_day',
                                name=op.f('pk_m_pending')),
    )
    op.create_index('ix_m_pending_indicator_day', 'm_pending', ['indicator', 'day'])
    op.create_table(
        'workdays',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('n_before', sa.Integer(), nullable=False),
        sa.Column('working', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_workdays')),
    )
    op.create_index('ix_workdays_n_before', 'workdays', ['n_before', 'day'])


def downgrade() -> None:
    op.drop_table('workdays')
    op.drop_index('ix_m_pending_indicator_day', table_name='m_pending')
    op.drop_table('m_pending')
