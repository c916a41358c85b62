"""decisions: the unit that must act, and its acknowledgement (append-only)

Revision ID: 0018_decision_follow_through
Revises: 0017_dossier_fields
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018_decision_follow_through'
down_revision: str | None = '0017_dossier_fields'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# An acknowledgement is never edited nor withdrawn, as the decision it answers.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER decision_acks_no_update BEFORE UPDATE ON decision_acks
       BEGIN SELECT RAISE(ABORT, 'acknowledgements are append-only'); END""",
    """CREATE TRIGGER decision_acks_no_delete BEFORE DELETE ON decision_acks
       BEGIN SELECT RAISE(ABORT, 'acknowledgements are append-only'); END""",
]
PG_STATEMENTS = [
    """CREATE OR REPLACE FUNCTION decision_acks_refuse() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'acknowledgements are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER decision_acks_no_change BEFORE UPDATE OR DELETE ON decision_acks
       FOR EACH ROW EXECUTE FUNCTION decision_acks_refuse()""",
    """CREATE TRIGGER decision_acks_no_truncate BEFORE TRUNCATE ON decision_acks
       FOR EACH STATEMENT EXECUTE FUNCTION decision_acks_refuse()""",
    "REVOKE UPDATE, DELETE, TRUNCATE ON decision_acks FROM PUBLIC",
]


def upgrade() -> None:
    # A new nullable column: earlier decisions name no acting unit. Adding a column is not an
    # UPDATE, so the log's append-only triggers stay as they are.
    op.add_column('decisions', sa.Column('acting_unit', sa.String(length=32), nullable=True))
    op.create_index('ix_decisions_acting_unit', 'decisions', ['acting_unit'])
    op.create_table(
        'decision_acks',
        sa.Column('decision', sa.Integer(), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=False),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['decision'], ['decisions.id'],
                                name=op.f('fk_decision_acks_decision_decisions')),
        sa.PrimaryKeyConstraint('decision', name=op.f('pk_decision_acks')),
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else PG_STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS decision_acks_no_update")
        op.execute("DROP TRIGGER IF EXISTS decision_acks_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS decision_acks_no_change ON decision_acks")
        op.execute("DROP TRIGGER IF EXISTS decision_acks_no_truncate ON decision_acks")
        op.execute("DROP FUNCTION IF EXISTS decision_acks_refuse()")
    op.drop_table('decision_acks')
    op.drop_index('ix_decisions_acting_unit', table_name='decisions')
    op.drop_column('decisions', 'acting_unit')  # SQLite >= 3.35 drops a column in place
