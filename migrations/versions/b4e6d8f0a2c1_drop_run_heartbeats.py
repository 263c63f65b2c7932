"""drop the heartbeat columns of sync, recompute and rule-tag runs: the job runner keeps the one heartbeat

Revision ID: b4e6d8f0a2c1
Revises: 9e241438a9cf
Create Date: 2026-12-05 21:10:00

Since these runs are driven by jobs (app/jobs), a dead worker is found by the job's heartbeat and the run is closed
by its kind's on_give_up hook; nothing reads the runs' own heartbeat_at any more.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4e6d8f0a2c1'
down_revision = '02d7a6b6b4e4'  # after the referral tasks
branch_labels = None
depends_on = None

TABLES = ('contact_sync_runs', 'rfm_runs', 'tag_rule_runs')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('heartbeat_at')


def downgrade():
    for table in TABLES:  # as before: NOT NULL; the rows kept get their start time
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True))
        op.execute(sa.text(f"UPDATE {table} SET heartbeat_at = started_at"))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('heartbeat_at', existing_type=sa.DateTime(timezone=True), nullable=False)
