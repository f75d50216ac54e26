"""calibration: batches, packets, packet reviews and item reviews

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 06:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calibration_batch',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('dramas', sa.JSON(), nullable=False),
        sa.Column('seed', sa.BigInteger(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('requested_size', sa.Integer(), nullable=False),
        sa.Column('population', sa.Integer(), nullable=False),
        sa.Column('strata', sa.JSON(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('parent_id', sa.String(length=64), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('min_accuracy', sa.Float(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('created_by', sa.String(length=128), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_batch')),
    )
    op.create_table(
        'calibration_packet',
        sa.Column('id', sa.String(length=300), nullable=False),
        sa.Column('batch_id', sa.String(length=64), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('keyframe_id', sa.String(length=220), nullable=False),
        sa.Column('drama_id', sa.String(length=128), nullable=False),
        sa.Column('stratum', sa.String(length=200), nullable=False),
        sa.Column('overlap', sa.Boolean(), nullable=False),
        sa.Column('snapshot', sa.JSON(), nullable=False),
        sa.Column('items', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['calibration_batch.id'], name=op.f('fk_calibration_packet_batch_id_calibration_batch'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calibration_packet')),
        sa.UniqueConstraint('batch_id', 'position', name='uq_calibration_packet_batch_id'),
        sa.UniqueConstraint('batch_id', 'keyframe_id', name='uq_calibration_packet_batch_id_keyframe_id'),
    )
    op.create_index(op.f('ix_calibration_packet_batch_id'), 'calibration_packet', ['batch_id'])
    op.create_index(op.f('ix_calibration_packet_keyframe_id'), 'calibration_packet', ['keyframe_id'])
    op.create_index(op.f('ix_calibration_packet_drama_id'), 'calibration_packet', ['drama_id'])
    op.create_table(
        'packet_review',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('packet_id', sa.String(length=300), nullable=False),
        sa.Column('reviewer', sa.String(length=128), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('is_primary', sa.Boolean(), nullable=False),
        sa.Column('versions', sa.JSON(), nullable=True),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['packet_id'], ['calibration_packet.id'], name=op.f('fk_packet_review_packet_id_calibration_packet'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_packet_review')),
        sa.UniqueConstraint('packet_id', 'reviewer', name=op.f('uq_packet_review_packet_id')),
    )
    op.create_index(op.f('ix_packet_review_packet_id'), 'packet_review', ['packet_id'])
    op.create_table(
        'item_review',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('review_id', sa.Integer(), nullable=False),
        sa.Column('item_key', sa.String(length=200), nullable=False),
        sa.Column('field', sa.String(length=64), nullable=False),
        sa.Column('decision', sa.String(length=8), nullable=False),
        sa.Column('value', sa.JSON(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['review_id'], ['packet_review.id'], name=op.f('fk_item_review_review_id_packet_review'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_item_review')),
        sa.UniqueConstraint('review_id', 'item_key', name=op.f('uq_item_review_review_id')),
    )
    op.create_index(op.f('ix_item_review_review_id'), 'item_review', ['review_id'])


def downgrade() -> None:
    op.drop_table('item_review')
    op.drop_table('packet_review')
    op.drop_table('calibration_packet')
    op.drop_table('calibration_batch')
