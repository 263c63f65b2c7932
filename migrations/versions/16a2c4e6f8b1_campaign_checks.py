"""campaign checks: dry runs done off the web request (preview numbers, submissions waiting for their count)

Revision ID: 16a2c4e6f8b1
Revises: c28d6f405176
Create Date: 2026-11-23 19:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '16a2c4e6f8b1'
down_revision = 'c28d6f405176'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaign_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('campaign_version', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.String(length=128), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_checks_campaign_id_campaigns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_checks'))
    )
    with op.batch_alter_table('campaign_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_checks_campaign_id'), ['campaign_id'], unique=False)


def downgrade():
    with op.batch_alter_table('campaign_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_checks_campaign_id'))

    op.drop_table('campaign_checks')
