"""signin failures: failed sign-ins counted per account name and client address

Revision ID: 0016_signin_failures
Revises: 0015_month_rollup

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_signin_failures"
down_revision: str | None = "0015_month_rollup"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "access_signin_failures",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", "client", name=op.f("pk_access_signin_failures")),
    )


def downgrade() -> None:
    op.drop_table("access_signin_failures")
