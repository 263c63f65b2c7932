"""journey step logs: when a wait ends

Revision ID: b7d2e5a91c40
Revises: f3a61c9d2e84
Create Date: 2026-12-06 04:50:00

A wait step is logged like the other steps, when it begins (the log's `at`) and when it ends (`due_at`), so a new
version of the journey continues a running wait from when it began instead of waiting it again.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d2e5a91c40'
down_revision = 'f3a61c9d2e84'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('journey_step_logs') as batch_op:
        batch_op.add_column(sa.Column('due_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('journey_step_logs') as batch_op:
        batch_op.drop_column('due_at')
