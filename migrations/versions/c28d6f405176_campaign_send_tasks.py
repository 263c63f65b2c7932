"""campaign send tasks: the submission lease of a send task, and the record of outside-send imports

Revision ID: c28d6f405176
Revises: b17c5e3f4065
Create Date: 2026-11-23 16:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c28d6f405176'
down_revision = 'b17c5e3f4065'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign_send_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True))

    op.create_table('campaign_outside_imports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_outside_imports'))
    )


def downgrade():
    op.drop_table('campaign_outside_imports')
    with op.batch_alter_table('campaign_send_tasks', schema=None) as batch_op:
        batch_op.drop_column('claimed_until')
