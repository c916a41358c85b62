"""intake column mappings (versioned), the batch's mapping, sign-in attempts per address

Revision ID: 0019_column_mappings
Revises: 0018_decision_follow_through
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019_column_mappings'
down_revision: str | None = '0018_decision_follow_through'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('access_signin_rate',
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('window_start', sa.BigInteger(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('previous', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('client', name=op.f('pk_access_signin_rate'))
    )
    with op.batch_alter_table('access_signin_rate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_signin_rate_window_start'), ['window_start'], unique=False)

    op.create_table('intake_mappings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('feed', sa.String(length=64), nullable=False),
    sa.Column('unit', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_mappings')),
    sa.UniqueConstraint('feed', 'unit', 'source', 'version', name=op.f('uq_intake_mappings_feed_unit_source_version'))
    )
    with op.batch_alter_table('intake_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mapping_id', sa.Integer(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('intake_batches', schema=None) as batch_op:
        batch_op.drop_column('mapping_id')

    op.drop_table('intake_mappings')
    with op.batch_alter_table('access_signin_rate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_access_signin_rate_window_start'))

    op.drop_table('access_signin_rate')
