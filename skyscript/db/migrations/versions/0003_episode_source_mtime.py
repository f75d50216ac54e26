"""episode source mtime: re-ingest of an unchanged local file skips hashing it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 08:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('episode') as batch:
        batch.add_column(sa.Column('source_mtime_ns', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('episode') as batch:
        batch.drop_column('source_mtime_ns')
