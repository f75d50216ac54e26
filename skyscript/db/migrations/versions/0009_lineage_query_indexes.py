"""lineage at scale: indexes for trace (losses by item), status (step runs by drama and status)
and the loss gate (episodes by drama and status)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 08:25:00
"""
from __future__ import annotations

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_loss_item_id', 'loss', ['item_id'], unique=False)
    op.create_index('ix_step_run_drama_status', 'step_run', ['drama_id', 'status'], unique=False)
    op.create_index('ix_episode_drama_status', 'episode', ['drama_id', 'status'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_episode_drama_status', table_name='episode')
    op.drop_index('ix_step_run_drama_status', table_name='step_run')
    op.drop_index('ix_loss_item_id', table_name='loss')
