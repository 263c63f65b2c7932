"""segments: saved segments (人群); indexes for windowed order, activity and channel state conditions

Revision ID: 8d4f2b0e1c32
Revises: 5b0c2f1e9a77
Create Date: 2026-11-23 16:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8d4f2b0e1c32'
down_revision = '5b0c2f1e9a77'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('segments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('rule', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_count', sa.Integer(), nullable=True),
    sa.Column('last_counted_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments')),
    sa.UniqueConstraint('name', name=op.f('uq_segments_name'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_paid_window', ['paid_at', 'external_userid', 'amount_fen'], unique=False,
                              postgresql_where=sa.text("status = 'paid'"))
    with op.batch_alter_table('customer_events', schema=None) as batch_op:
        batch_op.create_index('ix_customer_events_occurred_at', ['occurred_at'], unique=False)
    with op.batch_alter_table('follow_relations', schema=None) as batch_op:
        batch_op.create_index('ix_follow_relations_state', ['state'], unique=False,
                              postgresql_ops={'state': 'varchar_pattern_ops'})


def downgrade():
    with op.batch_alter_table('follow_relations', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_relations_state')
    with op.batch_alter_table('customer_events', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_events_occurred_at')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_paid_window')
    op.drop_table('segments')
