"""referral: a second ladder (A/B), contact-way requests awaiting their answer, progress-page devices

Revision ID: a7c41e9d2b18
Revises: a7c3e91d5b20
Create Date: 2026-12-06 01:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c41e9d2b18'
down_revision = 'a7c3e91d5b20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('referral_levels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arm', sa.String(length=1), server_default='A', nullable=False))
        batch_op.drop_constraint('uq_referral_levels_task_id_needed', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_referral_levels_task_id_arm_needed'),
                                          ['task_id', 'arm', 'needed'])
    with op.batch_alter_table('referral_participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arm', sa.String(length=1), server_default='A', nullable=False))
        batch_op.add_column(sa.Column('way_requested_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.drop_column('last_ip')
        batch_op.drop_column('last_agent')
    op.create_table('referral_visits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('participant_id', sa.Integer(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('agent', sa.String(length=256), nullable=False),
    sa.Column('last_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['participant_id'], ['referral_participants.id'],
                            name=op.f('fk_referral_visits_participant_id_referral_participants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_visits')),
    sa.UniqueConstraint('participant_id', 'ip', 'agent', name=op.f('uq_referral_visits_participant_id_ip_agent'))
    )
    op.create_index('ix_referral_visits_device', 'referral_visits', ['ip', 'agent'], unique=False)


def downgrade():
    op.drop_index('ix_referral_visits_device', table_name='referral_visits')
    op.drop_table('referral_visits')
    with op.batch_alter_table('referral_participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_agent', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('last_ip', sa.String(length=64), nullable=True))
        batch_op.drop_column('way_requested_at')
        batch_op.drop_column('arm')
    with op.batch_alter_table('referral_levels', schema=None) as batch_op:
        batch_op.drop_constraint('uq_referral_levels_task_id_arm_needed', type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_referral_levels_task_id_needed'), ['task_id', 'needed'])
        batch_op.drop_column('arm')
