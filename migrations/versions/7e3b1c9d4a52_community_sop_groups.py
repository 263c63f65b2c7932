"""community: groups added to a 群SOP by hand (group list → 应用SOP), reached besides the SOP's tier

Revision ID: 7e3b1c9d4a52
Revises: c4d2a8e61f37
Create Date: 2026-12-06 04:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = '7e3b1c9d4a52'
down_revision = 'c4d2a8e61f37'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('community_sop_groups',
    sa.Column('sop_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('added_by', sa.String(length=128), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['sop_id'], ['community_sops.id'], name=op.f('fk_community_sop_groups_sop_id_community_sops')),
    sa.PrimaryKeyConstraint('sop_id', 'chat_id', name=op.f('pk_community_sop_groups'))
    )
    with op.batch_alter_table('community_sop_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_community_sop_groups_chat_id'), ['chat_id'], unique=False)


def downgrade():
    with op.batch_alter_table('community_sop_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_community_sop_groups_chat_id'))
    op.drop_table('community_sop_groups')
