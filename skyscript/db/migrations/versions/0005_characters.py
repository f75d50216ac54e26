"""characters: the drama's entity library (issue 10)

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-02 07:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'character',
        sa.Column('id', sa.String(length=200), nullable=False),
        sa.Column('drama_id', sa.String(length=128), nullable=False),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('name_source', sa.String(length=16), nullable=False),
        sa.Column('age_group', sa.String(length=16), nullable=True),
        sa.Column('age_source', sa.String(length=32), nullable=True),
        sa.Column('gender', sa.String(length=16), nullable=True),
        sa.Column('gender_source', sa.String(length=32), nullable=True),
        sa.Column('first_keyframe_id', sa.String(length=220), nullable=True),
        sa.Column('appearances', sa.Integer(), nullable=False),
        sa.Column('episodes', sa.Integer(), nullable=False),
        sa.Column('step_run_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['drama_id'], ['drama.id'], name=op.f('fk_character_drama_id_drama'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['step_run_id'], ['step_run.id'], name=op.f('fk_character_step_run_id_step_run')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_character')),
    )
    op.create_index(op.f('ix_character_drama_id'), 'character', ['drama_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_character_drama_id'), table_name='character')
    op.drop_table('character')
