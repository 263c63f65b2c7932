"""referral: launch pushes with a personal link per recipient (the send engine's personal values), milestone
messages and participant tags

Revision ID: a7c3e91d5b20
Revises: d81f3b6a9c25
Create Date: 2026-12-06 01:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e91d5b20'
down_revision = 'd81f3b6a9c25'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('personal', sa.Text(), nullable=True))

    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('referral_task_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('referral_key', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_campaign_runs_referral_key'), ['referral_key'])
        batch_op.create_foreign_key(batch_op.f('fk_campaign_runs_referral_task_id_referral_tasks'), 'referral_tasks',
                                    ['referral_task_id'], ['id'])

    with op.batch_alter_table('referral_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('milestone_text', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('near_text', sa.Text(), nullable=False, server_default=''))

    with op.batch_alter_table('referral_participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tagged_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('referral_launches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('link_title', sa.String(length=64), nullable=False),
    sa.Column('holdout_percent', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=True),
    sa.Column('send_id', sa.Integer(), nullable=True),
    sa.Column('requested_by', sa.String(length=128), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.String(length=128), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['send_id'], ['campaign_runs.id'], name=op.f('fk_referral_launches_send_id_campaign_runs')),
    sa.ForeignKeyConstraint(['task_id'], ['referral_tasks.id'], name=op.f('fk_referral_launches_task_id_referral_tasks'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_launches'))
    )
    with op.batch_alter_table('referral_launches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referral_launches_task_id'), ['task_id'], unique=False)


def downgrade():
    with op.batch_alter_table('referral_launches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referral_launches_task_id'))
    op.drop_table('referral_launches')

    with op.batch_alter_table('referral_participants', schema=None) as batch_op:
        batch_op.drop_column('tagged_at')

    with op.batch_alter_table('referral_tasks', schema=None) as batch_op:
        batch_op.drop_column('near_text')
        batch_op.drop_column('milestone_text')

    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_campaign_runs_referral_task_id_referral_tasks'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_campaign_runs_referral_key'), type_='unique')
        batch_op.drop_column('referral_key')
        batch_op.drop_column('referral_task_id')

    with op.batch_alter_table('campaign_deliveries', schema=None) as batch_op:
        batch_op.drop_column('personal')
