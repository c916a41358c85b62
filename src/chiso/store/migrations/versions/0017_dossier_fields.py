"""dossier fields: digitised components, complaints and payment method (optional)

Revision ID: 0017_dossier_fields
Revises: 0016_signin_failures

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0017_dossier_fields'
down_revision: str | None = '0016_signin_failures'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ('feed_tthc_dossier', 'feed_tthc_dossier_versions')


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('components_digitised', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('complaints', sa.Integer(), nullable=True))
            batch_op.add_column(sa.Column('payment_method', sa.String(length=8),
                                          nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('payment_method')
            batch_op.drop_column('complaints')
            batch_op.drop_column('components_digitised')
