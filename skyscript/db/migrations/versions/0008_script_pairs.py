"""script pairs: per-shooting-script restoration state (pair texts live in store shards)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 07:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('script_restoration',
    sa.Column('script_id', sa.String(length=260), nullable=False),
    sa.Column('drama_id', sa.String(length=128), nullable=False),
    sa.Column('episode_id', sa.String(length=200), nullable=False),
    sa.Column('scene_index', sa.Integer(), nullable=False),
    sa.Column('requested', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('prompt_tokens', sa.BigInteger(), nullable=False),
    sa.Column('completion_tokens', sa.BigInteger(), nullable=False),
    sa.Column('call_seconds', sa.Float(), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=True),
    sa.Column('prompt_digest', sa.String(length=80), nullable=True),
    sa.Column('script_digest', sa.String(length=80), nullable=True),
    sa.Column('shard_key', sa.Text(), nullable=True),
    sa.Column('step_run_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['episode_id'], ['episode.id'], name=op.f('fk_script_restoration_episode_id_episode'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['step_run_id'], ['step_run.id'], name=op.f('fk_script_restoration_step_run_id_step_run')),
    sa.PrimaryKeyConstraint('script_id', name=op.f('pk_script_restoration'))
    )
    with op.batch_alter_table('script_restoration') as batch:
        batch.create_index(batch.f('ix_script_restoration_drama_id'), ['drama_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('script_restoration') as batch:
        batch.drop_index(batch.f('ix_script_restoration_drama_id'))
    op.drop_table('script_restoration')
