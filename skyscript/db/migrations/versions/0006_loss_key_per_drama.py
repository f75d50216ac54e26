"""loss rows keyed per drama: the same item, step and reason in two dramas are two rows

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 07:30:00
"""
from __future__ import annotations

from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('loss') as batch:
        batch.drop_constraint('uq_loss_step', type_='unique')
        batch.create_unique_constraint('uq_loss_drama_id', ['drama_id', 'step', 'item_id', 'reason'])


def downgrade() -> None:
    with op.batch_alter_table('loss') as batch:
        batch.drop_constraint('uq_loss_drama_id', type_='unique')
        batch.create_unique_constraint('uq_loss_step', ['step', 'item_id', 'reason'])
