"""alerts and evidence: task evidence (files and links), alerts and their deliveries

Revision ID: 0006_alerts_evidence
Revises: 0005_scoring
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006_alerts_evidence'
down_revision: str | None = '0005_scoring'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'task_evidence',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('plan_key', sa.String(length=64), nullable=False),
        sa.Column('task_id', sa.String(length=32), nullable=False),
        sa.Column('milestone', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('filename', sa.Text(), nullable=True),
        sa.Column('content_type', sa.String(length=128), nullable=True),
        sa.Column('url', sa.Text(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=True),
        sa.Column('completes', sa.Boolean(), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=True),
        sa.Column('uploaded_by', sa.String(length=128), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_task_evidence')),
    )
    op.create_index('ix_task_evidence_task', 'task_evidence', ['plan_key', 'task_id'])
    op.create_table(
        'alerts',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('subject', sa.String(length=160), nullable=False),
        sa.Column('dedup_key', sa.String(length=224), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('plan_key', sa.String(length=64), nullable=False),
        sa.Column('item_id', sa.String(length=32), nullable=False),
        sa.Column('unit', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=64), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('detail', sa.JSON(), nullable=False),
        sa.Column('raised_on', sa.Date(), nullable=False),
        sa.Column('superseded', sa.Boolean(), nullable=False),
        sa.Column('escalated_on', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    )
    op.create_index('ix_alerts_subject', 'alerts', ['subject'])
    op.create_index('ix_alerts_unit', 'alerts', ['unit'])
    op.create_table(
        'alert_deliveries',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('alert_id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('recipient', sa.Text(), nullable=False),
        sa.Column('ok', sa.Boolean(), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_deliveries')),
    )
    op.create_index('ix_alert_deliveries_alert', 'alert_deliveries', ['alert_id'])


def downgrade() -> None:
    op.drop_index('ix_alert_deliveries_alert', table_name='alert_deliveries')
    op.drop_table('alert_deliveries')
    op.drop_index('ix_alerts_unit', table_name='alerts')
    op.drop_index('ix_alerts_subject', table_name='alerts')
    op.drop_table('alerts')
    op.drop_index('ix_task_evidence_task', table_name='task_evidence')
    op.drop_table('task_evidence')
