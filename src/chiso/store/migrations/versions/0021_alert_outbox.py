"""alert deliveries: the outbox message that carries an e-mail or webhook

Revision ID: 0021_alert_outbox
Revises: 0020_pull_sources
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0021_alert_outbox'
down_revision: str | None = '0020_pull_sources'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: in-app deliveries, and those recorded before the outbox carried alerts, have none.
    with op.batch_alter_table('alert_deliveries') as batch:
        batch.add_column(sa.Column('message_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert_deliveries') as batch:
        batch.drop_column('message_id')
