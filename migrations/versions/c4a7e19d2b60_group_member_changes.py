"""Group member changes with their scene (joins and leaves), replacing welcome_group_joins (joins only)

Revision ID: c4a7e19d2b60
Revises: 5c0b7e2d9a41
Create Date: 2026-12-06 01:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4a7e19d2b60'
down_revision = '5c0b7e2d9a41'  # after community (join codes, welcomes, tiers)
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('customer_group_member_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('scene', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_group_member_changes')),
    sa.UniqueConstraint('inbox_id', name=op.f('uq_customer_group_member_changes_inbox_id'))
    )
    with op.batch_alter_table('customer_group_member_changes', schema=None) as batch_op:
        batch_op.create_index('ix_customer_group_member_changes_chat_at', ['chat_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_customer_group_member_changes_occurred_at'), ['occurred_at'],
                              unique=False)
    # the joins the welcome kept so far become join changes (their JoinScene kept); the old table goes
    op.execute("INSERT INTO customer_group_member_changes (inbox_id, chat_id, kind, members, scene, occurred_at) "
               "SELECT inbox_id, chat_id, 'join', members, join_scene, joined_at FROM welcome_group_joins")
    with op.batch_alter_table('welcome_group_joins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_welcome_group_joins_joined_at'))
        batch_op.drop_index(batch_op.f('ix_welcome_group_joins_chat_id'))
    op.drop_table('welcome_group_joins')


def downgrade():
    op.create_table('welcome_group_joins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('join_scene', sa.Integer(), nullable=True),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_welcome_group_joins')),
    sa.UniqueConstraint('inbox_id', name=op.f('uq_welcome_group_joins_inbox_id'))
    )
    with op.batch_alter_table('welcome_group_joins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_welcome_group_joins_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_welcome_group_joins_joined_at'), ['joined_at'], unique=False)
    op.execute("INSERT INTO welcome_group_joins (inbox_id, chat_id, members, join_scene, joined_at) "
               "SELECT inbox_id, chat_id, members, scene, occurred_at FROM customer_group_member_changes "
               "WHERE kind = 'join'")
    with op.batch_alter_table('customer_group_member_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_group_member_changes_occurred_at'))
        batch_op.drop_index('ix_customer_group_member_changes_chat_at')
    op.drop_table('customer_group_member_changes')
