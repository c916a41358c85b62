"""decisions: the decision log (decisions taken from dashboard tiles), append-only

Revision ID: 0007_decisions
Revises: 0006_alerts_evidence
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007_decisions'
down_revision: str | None = '0006_alerts_evidence'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Append-only, as the audit log: a correction is a new row (``corrects``), never an edit.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER decisions_no_update BEFORE UPDATE ON decisions
       BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END""",
    """CREATE TRIGGER decisions_no_delete BEFORE DELETE ON decisions
       BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END""",
]
PG_STATEMENTS = [
    """CREATE OR REPLACE FUNCTION decisions_refuse() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'decisions are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER decisions_no_change BEFORE UPDATE OR DELETE ON decisions
       FOR EACH ROW EXECUTE FUNCTION decisions_refuse()""",
    """CREATE TRIGGER decisions_no_truncate BEFORE TRUNCATE ON decisions
       FOR EACH STATEMENT EXECUTE FUNCTION decisions_refuse()""",
    "REVOKE UPDATE, DELETE, TRUNCATE ON decisions FROM PUBLIC",
]


def upgrade() -> None:
    op.create_table(
        'decisions',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('tile', sa.String(length=64), nullable=False),
        sa.Column('taken_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('role', sa.String(length=32), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('seen', sa.JSON(), nullable=False),
        sa.Column('follow_up', sa.Date(), nullable=True),
        sa.Column('plan_key', sa.String(length=64), nullable=True),
        sa.Column('target_id', sa.String(length=32), nullable=True),
        sa.Column('task_id', sa.String(length=32), nullable=True),
        sa.Column('corrects', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_decisions')),
        sa.UniqueConstraint('corrects', name=op.f('uq_decisions_corrects')),
    )
    op.create_index('ix_decisions_tile_month', 'decisions', ['tile', 'month'])
    op.create_index('ix_decisions_month', 'decisions', ['month'])
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else PG_STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS decisions_no_update")
        op.execute("DROP TRIGGER IF EXISTS decisions_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS decisions_no_change ON decisions")
        op.execute("DROP TRIGGER IF EXISTS decisions_no_truncate ON decisions")
        op.execute("DROP FUNCTION IF EXISTS decisions_refuse()")
    op.drop_index('ix_decisions_month', table_name='decisions')
    op.drop_index('ix_decisions_tile_month', table_name='decisions')
    op.drop_table('decisions')
