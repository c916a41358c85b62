"""change events: the shared change stream's table (each row a committed batch's changes)

Revision ID: 0014_change_events
Revises: 0013_reports

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_change_events"
down_revision: str | None = "0013_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_events")),
    )
    op.create_index("ix_change_events_created_at", "change_events", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_change_events_created_at", table_name="change_events")
    op.drop_table("change_events")
