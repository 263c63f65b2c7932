"""community: 群SOP — SOPs per tier, their items and each planned occurrence

Revision ID: 5c0b7e2d9a41
Revises: 318dcc7a00a4
Create Date: 2026-12-06 01:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '5c0b7e2d9a41'
down_revision = '318dcc7a00a4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('community_sops',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('template_key', sa.String(length=32), nullable=True),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('active_since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_sops'))
    )
    with op.batch_alter_table('community_sops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_sops_tier'), ['tier'], unique=False)

    op.create_table('community_sop_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sop_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('time_of_day', sa.String(length=5), nullable=False),
    sa.Column('recurrence', sa.String(length=8), nullable=False),
    sa.Column('start_on', sa.Date(), nullable=False),
    sa.Column('weekdays', sa.JSON(), nullable=False),
    sa.Column('month_day', sa.Integer(), nullable=True),
    sa.Column('every_days', sa.Integer(), nullable=True),
    sa.Column('times', sa.Integer(), nullable=True),
    sa.Column('plan_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sop_id'], ['community_sops.id'], name=op.f('fk_community_sop_items_sop_id_community_sops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_sop_items'))
    )
    with op.batch_alter_table('community_sop_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_sop_items_sop_id'), ['sop_id'], unique=False)

    op.create_table('community_sop_occurrences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('sop_id', sa.Integer(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('send_id', sa.Integer(), nullable=True),
    sa.Column('owners', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['community_sop_items.id'], name=op.f('fk_community_sop_occurrences_item_id_community_sop_items')),
    sa.ForeignKeyConstraint(['send_id'], ['campaign_runs.id'], name=op.f('fk_community_sop_occurrences_send_id_campaign_runs')),
    sa.ForeignKeyConstraint(['sop_id'], ['community_sops.id'], name=op.f('fk_community_sop_occurrences_sop_id_community_sops')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_community_sop_occurrences')),
    sa.UniqueConstraint('item_id', 'due_at', name='uq_community_sop_occurrences_item_due')
    )
    with op.batch_alter_table('community_sop_occurrences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_sop_occurrences_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_sop_occurrences_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_community_sop_occurrences_sop_id'), ['sop_id'], unique=False)


def downgrade():
    op.drop_table('community_sop_occurrences')
    op.drop_table('community_sop_items')
    op.drop_table('community_sops')
