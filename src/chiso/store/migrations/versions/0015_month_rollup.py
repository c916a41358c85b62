"""month rollup: m_month, the day state summed by calendar month, filled from m_day

Revision ID: 0015_month_rollup
Revises: 0014_change_events

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0015_month_rollup'
down_revision: str | None = '0014_change_events'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('m_month',
    sa.Column('indicator', sa.String(length=96), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('records', sa.BigInteger(), nullable=False),
    sa.Column('num', sa.Float(), nullable=False),
    sa.Column('den', sa.Float(), nullable=False),
    sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('indicator', 'unit', 'month', name=op.f('pk_m_month'))
    )
    op.create_index('ix_m_month_indicator_month', 'm_month', ['indicator', 'month'])
    month = ("CAST(date_trunc('month', day) AS date)"
             if op.get_bind().dialect.name == "postgresql" else "date(day, 'start of month')")
    op.execute(
        "INSERT INTO m_month (indicator, unit, month, records, num, den, as_of) "
        f"SELECT indicator, unit, {month}, sum(records), sum(num), sum(den), max(as_of) "
        f"FROM m_day GROUP BY indicator, unit, {month}")


def downgrade() -> None:
    op.drop_index('ix_m_month_indicator_month', table_name='m_month')
    op.drop_table('m_month')
