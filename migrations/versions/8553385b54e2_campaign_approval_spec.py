"""campaign approvals keep the push as it was decided (spec), so an approver sees what changed since their approval

Revision ID: 8553385b54e2
Revises: de5ca66ceded
Create Date: 2026-12-05 13:20:00
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8553385b54e2'
down_revision = "de5ca66ceded"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaign_approvals") as batch:
        batch.add_column(sa.Column("spec", sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table("campaign_approvals") as batch:
        batch.drop_column("spec")
