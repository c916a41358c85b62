"""scoring: current scores and ranks per (method, version, unit, period), and their history

Revision ID: 0005_scoring
Revises: 0004_measurement
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005_scoring'
down_revision: str | None = '0004_measurement'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'scores',
        sa.Column('method', sa.String(length=64), nullable=False),
        sa.Column('version', sa.String(length=32), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=False),
        sa.Column('period', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('points', sa.Float(), nullable=False),
        sa.Column('max_points', sa.Float(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=True),
        sa.Column('of', sa.Integer(), nullable=True),
        sa.Column('missing', sa.Integer(), nullable=False),
        sa.Column('tree', sa.JSON(), nullable=False),
        sa.Column('catalog', sa.String(length=32), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('method', 'version', 'unit', 'period', name=op.f('pk_scores')),
    )
    op.create_index('ix_scores_method_period_kind', 'scores', ['method', 'period', 'kind'])
    op.create_table(
        'score_history',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('method', sa.String(length=64), nullable=False),
        sa.Column('version', sa.String(length=32), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=False),
        sa.Column('period', sa.String(length=32), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('points', sa.Float(), nullable=False),
        sa.Column('rank', sa.Integer(), nullable=True),
        sa.Column('of', sa.Integer(), nullable=True),
        sa.Column('tree', sa.JSON(), nullable=False),
        sa.Column('reason', sa.String(length=64), nullable=False),
        sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_score_history')),
    )
    op.create_index('ix_score_history_key', 'score_history',
                    ['method', 'unit', 'period', 'computed_at'])


def downgrade() -> None:
    op.drop_index('ix_score_history_key', table_name='score_history')
    op.drop_table('score_history')
    op.drop_index('ix_scores_method_period_kind', table_name='scores')
    op.drop_table('scores')
