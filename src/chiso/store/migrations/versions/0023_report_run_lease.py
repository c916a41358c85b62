"""report runs: a claim's lease, renewed while it builds; an expired lease is reclaimed

Revision ID: 0023_report_run_lease
Revises: 0021_alert_outbox
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023_report_run_lease'
down_revision: str | None = '0021_alert_outbox'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('report_runs') as batch:
        batch.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('report_runs') as batch:
        batch.drop_column('lease_until')
