"""welcome templates carry a group join code; invitations wait for approval above the threshold

Revision ID: b04c394f6c59
Revises: a7c41e9d2b18
Create Date: 2026-12-06 01:15:40.655821

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b04c394f6c59'
down_revision = 'a7c41e9d2b18'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('community_invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('recipients', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('approved_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decision_comment', sa.Text(), nullable=False, server_default=''))

    with op.batch_alter_table('welcome_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('group_code_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_welcome_templates_group_code_id_community_join_codes'), 'community_join_codes', ['group_code_id'], ['id'])



def downgrade():
    with op.batch_alter_table('welcome_templates', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_welcome_templates_group_code_id_community_join_codes'), type_='foreignkey')
        batch_op.drop_column('group_code_id')

    with op.batch_alter_table('community_invitations', schema=None) as batch_op:
        batch_op.drop_column('decision_comment')
        batch_op.drop_column('decided_at')
        batch_op.drop_column('approved_by')
        batch_op.drop_column('recipients')

