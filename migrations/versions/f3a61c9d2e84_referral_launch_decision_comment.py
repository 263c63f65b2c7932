"""referral launches: the supervisor's comment on the decision

Revision ID: f3a61c9d2e84
Revises: 7e3b1c9d4a52
Create Date: 2026-12-06 04:20:00

A referral launch waiting for approval is decided on its review page from the one approvals queue, like pushes and
invitations: with a comment (required to reject) that the operator reads on the task's 推送 tab.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a61c9d2e84'
down_revision = '7e3b1c9d4a52'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('referral_launches') as batch_op:
        batch_op.add_column(sa.Column('decision_comment', sa.Text(), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('referral_launches') as batch_op:
        batch_op.drop_column('decision_comment')
