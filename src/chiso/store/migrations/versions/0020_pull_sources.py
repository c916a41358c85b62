"""pull_sources: pull connectors the operator manages in the app, with their run status

Revision ID: 0020_pull_sources
Revises: 0019_column_mappings
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0020_pull_sources'
down_revision: str | None = '0019_column_mappings'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'pull_sources',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('feed', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=64), nullable=False),
        sa.Column('base_url', sa.String(length=2000), nullable=False),
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('paging', sa.String(length=16), nullable=False),
        sa.Column('page_size', sa.Integer(), nullable=False),
        sa.Column('interval_seconds', sa.Float(), nullable=False),
        sa.Column('paused', sa.Boolean(), nullable=False),
        sa.Column('credentials', sa.LargeBinary(), nullable=True),
        sa.Column('credential_names', sa.JSON(), nullable=True),
        sa.Column('updated_by', sa.String(length=200), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_drained_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_records', sa.Integer(), nullable=True),
        sa.Column('failing_since', sa.DateTime(timezone=True), nullable=True),
        sa.Column('outages', sa.Integer(), nullable=False),
        sa.Column('last_recovered_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('pull_sources')
