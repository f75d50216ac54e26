"""step leases know their process: host and pid, so a lease whose process is gone is taken over

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 07:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('step_lease') as batch:
        batch.add_column(sa.Column('host', sa.String(length=128), nullable=True))
        batch.add_column(sa.Column('pid', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('step_lease') as batch:
        batch.drop_column('heartbeat_at')
        batch.drop_column('pid')
        batch.drop_column('host')
