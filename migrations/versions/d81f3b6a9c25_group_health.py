"""群活跃度: group and owner health per day

Revision ID: d81f3b6a9c25
Revises: c4a7e19d2b60
Create Date: 2026-12-06 01:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd81f3b6a9c25'
down_revision = 'c4a7e19d2b60'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('community_group_health',
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('joins_7d', sa.Integer(), nullable=False),
    sa.Column('joins_30d', sa.Integer(), nullable=False),
    sa.Column('joins_by_qr_30d', sa.Integer(), nullable=False),
    sa.Column('leaves_7d', sa.Integer(), nullable=False),
    sa.Column('leaves_30d', sa.Integer(), nullable=False),
    sa.Column('left_self_30d', sa.Integer(), nullable=False),
    sa.Column('removed_30d', sa.Integer(), nullable=False),
    sa.Column('retention_eligible', sa.Integer(), nullable=False),
    sa.Column('retention_kept', sa.Integer(), nullable=False),
    sa.Column('silent', sa.Integer(), nullable=True),
    sa.Column('activity', sa.Integer(), nullable=True),
    sa.Column('growth', sa.Integer(), nullable=True),
    sa.Column('retention', sa.Integer(), nullable=True),
    sa.Column('leave', sa.Integer(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('chat_id', 'day', name=op.f('pk_community_group_health'))
    )
    with op.batch_alter_table('community_group_health', schema=None) as batch_op:
        batch_op.create_index('ix_community_group_health_day_score', ['day', 'score'], unique=False)
        batch_op.create_index('ix_community_group_health_day_silent', ['day', 'silent'], unique=False)

    op.create_table('community_owner_health',
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('groups', sa.Integer(), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('new_members_7d', sa.Integer(), nullable=False),
    sa.Column('leaves_7d', sa.Integer(), nullable=False),
    sa.Column('spoke_7d', sa.Integer(), nullable=False),
    sa.Column('member_days_7d', sa.Integer(), nullable=False),
    sa.Column('messages_7d', sa.Integer(), nullable=False),
    sa.Column('silent_at_least', sa.Integer(), nullable=True),
    sa.Column('score', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('owner', 'day', name=op.f('pk_community_owner_health'))
    )


def downgrade():
    op.drop_table('community_owner_health')
    with op.batch_alter_table('community_group_health', schema=None) as batch_op:
        batch_op.drop_index('ix_community_group_health_day_silent')
        batch_op.drop_index('ix_community_group_health_day_score')
    op.drop_table('community_group_health')
