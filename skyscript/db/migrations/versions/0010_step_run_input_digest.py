"""step runs record the digest of their inputs: an unchanged step is skipped on re-run

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 07:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('step_run') as batch:
        batch.add_column(sa.Column('input_digest', sa.String(length=80), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('step_run') as batch:
        batch.drop_column('input_digest')
