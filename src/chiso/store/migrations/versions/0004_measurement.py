"""measurement: the day state (m_day, m_distinct, m_published) and batch indexes on the
latest feed tables

Revision ID: 0004_measurement
Revises: 0003_access
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0004_measurement'
down_revision: str | None = '0003_access'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FEEDS = ["tthc_dossier", "ihanoi_feedback", "eoffice_document", "meetings_meeting",
         "stats_value"]


def upgrade() -> None:
    op.create_table(
        'm_day',
        sa.Column('indicator', sa.String(length=96), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('records', sa.BigInteger(), nullable=False),
        sa.Column('num', sa.Float(), nullable=False),
        sa.Column('den', sa.Float(), nullable=False),
        sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('indicator', 'unit', 'day', name=op.f('pk_m_day')),
    )
    op.create_index('ix_m_day_indicator_day', 'm_day', ['indicator', 'day'])
    op.create_table(
        'm_distinct',
        sa.Column('indicator', sa.String(length=96), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('key', sa.String(length=160), nullable=False),
        sa.Column('records', sa.BigInteger(), nullable=False),
        sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('indicator', 'unit', 'day', 'key', name=op.f('pk_m_distinct')),
    )
    op.create_index('ix_m_distinct_indicator_day', 'm_distinct', ['indicator', 'day'])
    op.create_table(
        'm_published',
        sa.Column('indicator', sa.String(length=96), nullable=False),
        sa.Column('side', sa.String(length=12), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('record_id', sa.String(length=160), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=False),
        sa.Column('period', sa.String(length=24), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('value', sa.Float(), nullable=False),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('as_of', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('indicator', 'side', 'source', 'record_id',
                                name=op.f('pk_m_published')),
    )
    op.create_index('ix_m_published_indicator_unit', 'm_published',
                    ['indicator', 'unit', 'period_end'])
    for feed in FEEDS:
        op.create_index(f'ix_feed_{feed}_batch', f'feed_{feed}', ['batch_id'])


def downgrade() -> None:
    for feed in FEEDS:
        op.drop_index(f'ix_feed_{feed}_batch', table_name=f'feed_{feed}')
    op.drop_index('ix_m_published_indicator_unit', table_name='m_published')
    op.drop_table('m_published')
    op.drop_index('ix_m_distinct_indicator_day', table_name='m_distinct')
    op.drop_table('m_distinct')
    op.drop_index('ix_m_day_indicator_day', table_name='m_day')
    op.drop_table('m_day')
