"""unit integrity: published values say whether they were typed by hand; uploads per unit

Revision ID: 0008_unit_integrity
Revises: 0007_decisions
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_unit_integrity'
down_revision: str | None = '0007_decisions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _feed_tables() -> list[str]:
    names = set(sa.inspect(op.get_bind()).get_table_names())
    return sorted(n for n in names if n.startswith("feed_"))


def upgrade() -> None:
    with op.batch_alter_table('m_published') as batch:
        batch.add_column(sa.Column('manual', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    # Files used to share one source per door ("upload", "cli") across every unit; each row
    # moves to its unit's own source, the key uploads have from now on.
    for table in _feed_tables():
        for door in ("upload", "cli"):
            op.execute(sa.text(f"UPDATE {table} SET source = :d || ':' || unit "
                               "WHERE source = :d").bindparams(d=door))
    for door in ("upload", "cli"):
        op.execute(sa.text("UPDATE m_published SET source = :d || ':' || unit "
                           "WHERE source = :d").bindparams(d=door))
        op.execute(sa.text("UPDATE intake_batches SET source = :d || ':' || unit "
                           "WHERE source = :d AND unit IS NOT NULL").bindparams(d=door))
    op.execute(sa.text(
        "UPDATE m_published SET manual = true WHERE EXISTS (SELECT 1 FROM feed_stats_value s "
        "WHERE s.source = m_published.source AND s.record_id = m_published.record_id "
        "AND s.manual)"))


def downgrade() -> None:
    with op.batch_alter_table('m_published') as batch:
        batch.drop_column('manual')
