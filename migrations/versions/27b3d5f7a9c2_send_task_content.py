"""send task content: each task keeps the message as approved when its run was cut into tasks

Revision ID: 27b3d5f7a9c2
Revises: d39e7a516287
Create Date: 2026-11-23 20:55:00

Submitted tasks never need their content again (polling, reminders and cancelling go by msgid). Tasks still waiting
to be submitted would need it, so the upgrade refuses to run while there are any: let the worker finish them, or
cancel their runs, first.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '27b3d5f7a9c2'
down_revision = 'd39e7a516287'
branch_labels = None
depends_on = None


def upgrade():
    waiting = op.get_bind().execute(sa.text(
        "SELECT count(*) FROM campaign_send_tasks WHERE status IN ('pending', 'submitting')")).scalar()
    if waiting:
        raise RuntimeError(f"{waiting} push tasks are still waiting to be submitted to WeCom: let the worker "
                           "finish them (or cancel their runs) before this upgrade")
    with op.batch_alter_table('campaign_send_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('campaign_send_tasks', schema=None) as batch_op:
        batch_op.drop_column('content')
